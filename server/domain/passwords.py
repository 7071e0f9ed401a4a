"""Passwords: the strength rule and argon2id hashing, run off the event loop."""
from __future__ import annotations

import asyncio
import functools
import re
import secrets
import string
from typing import Any

from passlib.hash import argon2

from server.config import Settings
from server.errors import error_class

MIN_LENGTH = 8
MAX_LENGTH = 256
WeakPassword = error_class("WeakPassword", 400, "weak_password")

_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


def check_strength(password: str, field: str = "password") -> None:
    """Raise WeakPassword unless 8..256 characters mixing letters and digits."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password needs at least {MIN_LENGTH} characters", field=field)
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password may have at most {MAX_LENGTH} characters", field=field)
    if not _LETTER.search(password) or not _DIGIT.search(password):
        raise WeakPassword("the password must mix letters and digits", field=field)


def generate() -> str:
    """A strong random password that also passes check_strength."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(20))
        if _LETTER.search(candidate) and _DIGIT.search(candidate):
            return candidate


@functools.lru_cache(maxsize=8)
def _hasher(memory_kib: int, rounds: int) -> Any:
    return argon2.using(type="ID", memory_cost=memory_kib, rounds=rounds)


def hasher(settings: Settings) -> Any:
    """The argon2id hasher configured by settings.auth."""
    return _hasher(settings.auth.argon2_memory_kib, settings.auth.argon2_rounds)


@functools.lru_cache(maxsize=8)
def _dummy_hash(memory_kib: int, rounds: int) -> str:
    return _hasher(memory_kib, rounds).hash(secrets.token_urlsafe(16))


async def hash_password(settings: Settings, password: str) -> str:
    """The argon2id hash of password (computed in a thread: it is deliberately slow)."""
    return await asyncio.to_thread(hasher(settings).hash, password)


def _verify(settings: Settings, password: str, stored: str) -> tuple[bool, str | None]:
    h = hasher(settings)
    try:
        ok = bool(h.verify(password, stored))
    except (ValueError, TypeError):
        # Not an argon2 hash at all (e.g. a disabled account): never matches.
        return False, None
    if ok and h.needs_update(stored):
        return True, h.hash(password)
    return ok, None


async def verify_password(settings: Settings, password: str, stored: str) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters, else None)."""
    return await asyncio.to_thread(_verify, settings, password, stored)


async def dummy_verify(settings: Settings, password: str) -> None:
    """Spend the time of a real verification, so unknown emails cannot be told apart by timing."""
    dummy = await asyncio.to_thread(_dummy_hash, settings.auth.argon2_memory_kib, settings.auth.argon2_rounds)
    await asyncio.to_thread(_verify, settings, password, dummy)
