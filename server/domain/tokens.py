"""Short-lived JWT access tokens: who the caller is, and what their role lets them do."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ACCESS_COOKIE = "houseful_access"
REFRESH_COOKIE = "houseful_refresh"
# Not a credential: "a refresh cookie may still be alive", readable by page handlers (the refresh
# cookie is scoped to /api/auth). Without it a page knows its visitor is a guest and asks no API.
SESSION_HINT_COOKIE = "houseful_session"
ROLES = ("customer", "staff", "admin")  # weakest first: each role may do what the ones before it may
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
VERIFIED_TOKENS = 20_000  # access tokens remembered once verified (~0.5 KiB each); least recently used go first


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller. `via_cookie` tells the CSRF check how it was authenticated.

    Slotted: one stays per open socket and per remembered token (no instance dict, ~0.1 KB less).
    """

    user_id: int
    role: str
    via_cookie: bool = False
    expires_at: float = 0.0  # the token's exp (unix seconds); a socket opened with it ends then

    def has_role(self, role: str) -> bool:
        """True when this caller's role is `role` or a stronger one (an admin is also staff)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def has_rank(role: str, needed: str) -> bool:
    """True when `role` may do what `needed` may (an unknown role may do nothing)."""
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]


def issue_access(user_id: int, role: str, secret: str, ttl_seconds: int, *, now: float) -> tuple[str, int]:
    """A signed access token and its expiry (unix seconds), issued at `now` (the app's clock)."""
    issued = int(now)
    exp = issued + ttl_seconds
    claims = {"sub": str(user_id), "role": role, "typ": "access", "iat": issued, "exp": exp}
    token = jwt.encode(claims, secret, ALGORITHM)
    return token, exp


def read_access(token: str, secret: str, *, now: float) -> Identity | None:
    """The identity in a valid access token that has not expired at `now` (the app's clock), else None."""
    found = _verify(token, secret, now)
    return found[0] if found is not None else None


def _verify(token: str, secret: str, now: float) -> tuple[Identity, float] | None:
    """The identity and expiry of a valid, unexpired access token; None for anything else."""
    try:
        # PyJWT would check exp against the system clock; the app's clock decides instead.
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False,
                                     "verify_nbf": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp <= now:
        return None
    if claims.get("typ") != "access" or claims.get("role") not in ROLE_RANK:
        return None
    try:
        return Identity(int(claims["sub"]), claims["role"], expires_at=float(exp)), exp
    except (TypeError, ValueError):
        return None


class AccessTokens:
    """Reads access tokens, remembering verified ones until their expiry (a bounded LRU).

    A rush upgrades thousands of sockets with the same few tokens' owners reconnecting; the
    signature of a token cannot change, so once verified only its expiry needs checking again,
    against the app's clock. Invalid tokens are not remembered (they cost a decode each time).
    """

    def __init__(self, secret: str, size: int = VERIFIED_TOKENS) -> None:
        self.secret = secret
        self.size = size
        self._known: OrderedDict[str, tuple[Identity, float]] = OrderedDict()

    def read(self, token: str, *, now: float) -> Identity | None:
        """Like read_access(token, secret, now=now), without a decode for a token seen before."""
        known = self._known.get(token)
        if known is not None:
            if known[1] > now:
                self._known.move_to_end(token)
                return known[0]
            del self._known[token]
            return None
        found = _verify(token, self.secret, now)
        if found is None:
            return None
        self._known[token] = found
        if len(self._known) > self.size:
            self._known.popitem(last=False)
        return found[0]
