"""Order keys: short, unguessable, human-friendly Crockford base32 strings (e.g. 7QK2M9XC4T)."""
from __future__ import annotations

import re
import secrets

# Crockford's alphabet: no I, L, O or U, so keys survive being read aloud or typed from paper.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10  # 50 bits: guessing one live key is hopeless, and the API is authenticated anyway
_SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{8,12}$")
# Crockford decoding: the easily confused letters read as the digits they look like.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_order_key(length: int = LENGTH) -> str:
    """A fresh random order key."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_order_key(text: str) -> str | None:
    """The canonical form of a typed key (case, hyphens, I/L/O forgiven), or None if it cannot be one."""
    key = text.strip().upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)
    return key if _SHAPE.match(key) else None
