"""Admission passes and the gate the hold path checks (docs/waiting-room.md).

A pass is "<screening>.<user>.<expires ms>.<hmac>", signed with a key derived from the JWT secret:
bound to one account and one screening (non-transferable), short-lived, and checked without a
database or Redis call. The gate knows each screening's policy from a per-process copy refreshed
from Redis at most every POLICY_SECONDS, so a hold costs no extra round trip on most calls.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from server.clock import Clock
from server.errors import error_class

NotOnSale = error_class("NotOnSale", 409, "not_on_sale")
AdmissionRequired = error_class("AdmissionRequired", 403, "admission_required")
POLICY_SECONDS = 1.0  # how stale a worker's copy of a policy may be (a pause or a change reaches holds this fast)
MODES = ("off", "always", "auto")
MISSING = "Join the line for this screening first; your admission is missing or over."


@dataclass(frozen=True)
class Policy:
    """What the hold path needs of a screening's waiting room."""

    mode: str  # off | always | auto
    opens_at: int  # unix ms; 0 = on sale now

    @property
    def gated(self) -> bool:
        """True when a hold needs an admission pass."""
        return self.mode != "off"


def pass_key(jwt_secret: str) -> bytes:
    """The passes' signing key: derived, so a pass can never pass for a JWT or the reverse."""
    return hmac.new(jwt_secret.encode(), b"houseful admission pass", hashlib.sha256).digest()


def sign_pass(key: bytes, screening_id: int, user_id: int, expires_ms: int) -> str:
    """A pass for this user at this screening until expires_ms."""
    body = f"{screening_id}.{user_id}.{expires_ms}"
    return body + "." + hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]


def pass_expiry(key: bytes, token: object, screening_id: int, user_id: int, now_ms: int) -> int | None:
    """The pass's expiry when it is genuine, this user's, this screening's and still valid; else None."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != str(screening_id) or parts[1] != str(user_id) or not parts[2].isdigit():
        return None
    good = sign_pass(key, screening_id, user_id, int(parts[2]))
    if not hmac.compare_digest(good, token) or int(parts[2]) <= now_ms:
        return None
    return int(parts[2])


class Gate:
    """The one admission check of the hold path: on sale yet, and a valid pass while gated."""

    def __init__(self, key: bytes, clock: Clock, load: Callable[[int], Awaitable[Policy]],
                 shopping: Callable[[int, int], Awaitable[bool]]) -> None:
        self.key = key
        self.clock = clock
        self._load = load  # the policy from Redis (rebuilt from PostgreSQL when Redis lost it)
        self._shopping = shopping  # (screening, user) -> holds a claimed, unexpired admission
        self._policies: dict[int, tuple[float, Policy]] = {}
        self._loading: dict[int, asyncio.Future[Policy]] = {}

    async def policy(self, screening_id: int) -> Policy:
        """The screening's policy, at most POLICY_SECONDS old."""
        fresh = self._fresh(screening_id)
        if fresh is not None:
            return fresh
        now = time.monotonic()
        loading = self._loading.get(screening_id)
        if loading is None:  # one read per screening, however many holds ask at once (a rush)
            loading = self._loading[screening_id] = asyncio.ensure_future(self._load(screening_id))
            loading.add_done_callback(lambda task: self._loaded(screening_id, task))
        policy = await asyncio.shield(loading)
        if len(self._policies) > 10_000:
            self._policies.clear()
        self._policies[screening_id] = (now, policy)
        return policy

    def _loaded(self, screening_id: int, task: asyncio.Future[Policy]) -> None:
        if self._loading.get(screening_id) is task:
            del self._loading[screening_id]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have gone

    def forget(self, screening_id: int) -> None:
        """This worker changed the policy: read it afresh next time."""
        self._policies.pop(screening_id, None)
        self._loading.pop(screening_id, None)  # a read begun before the change must not serve after it

    async def _on_sale(self, screening_id: int) -> Policy:
        return self._open(await self.policy(screening_id))

    def _open(self, policy: Policy) -> Policy:
        if policy.opens_at and self.clock.ms() < policy.opens_at:
            raise NotOnSale("Tickets for this screening are not on sale yet.", opens_at=policy.opens_at)
        return policy

    def _admitted(self, policy: Policy, screening_id: int, user_id: int, token: str | None) -> None:
        if policy.gated and pass_expiry(self.key, token, screening_id, user_id, self.clock.ms()) is None:
            raise AdmissionRequired(MISSING)

    async def check(self, screening_id: int, user_id: int, token: str | None) -> None:
        """Raise NotOnSale before the opening, AdmissionRequired without a valid pass while gated."""
        if not self.checked(screening_id, user_id, token):
            self._admitted(await self._on_sale(screening_id), screening_id, user_id, token)

    def checked(self, screening_id: int, user_id: int, token: str | None) -> bool:
        """check() without waiting, when this worker's copy of the policy is fresh: True when it
        passes (raising as check() does); False when only check() can tell (the policy is being read).
        Every hold of a rush asks: no coroutine for the common case."""
        fresh = self._fresh(screening_id)
        if fresh is None:
            return False
        self._admitted(self._open(fresh), screening_id, user_id, token)
        return True

    def _fresh(self, screening_id: int) -> Policy | None:
        """This worker's copy of the policy while it is at most POLICY_SECONDS old."""
        cached = self._policies.get(screening_id)
        return cached[1] if cached is not None and time.monotonic() - cached[0] < POLICY_SECONDS else None

    async def check_order(self, screening_id: int, user_id: int) -> None:
        """The same rule for an order (it may name free seats): the user's admission must be live in Redis."""
        policy = await self._on_sale(screening_id)
        if policy.gated and not await self._shopping(screening_id, user_id):
            raise AdmissionRequired(MISSING)
