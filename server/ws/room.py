"""A room socket: the socket core plus direct, never-awaited writes and the slow-consumer rule.

Nothing awaits a send: every frame (replies, snapshots, the room's broadcasts) is complete
WebSocket frame bytes written straight to the socket's transport, so the room's tick writes the
same bytes to thousands of sockets without a task wake-up per socket. aiohttp writes its own
frames (ping, pong, close) the same way, synchronously and whole, since compression is off (see
handlers.py): frames never interleave.

The transport's unsent bytes are the slow-consumer signal. A socket with more than
send_queue_frames x BEHIND_BYTES_PER_FRAME unsent is *behind*: the room's deltas are no longer
written to it, and once its peer has read most of the backlog it gets one fresh snapshot. Still
behind after websocket.behind_grace_seconds, or behind again that soon after catching up, it is
closed with CLOSE_TOO_SLOW. Either way a slow peer never holds the room back.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from server.config import Settings
from server.domain.revocation import ROLE, Revocations
from server.domain.tokens import Identity
from server.errors import STORE_OUTAGES, DomainError
from server.live import protocol as p
from server.live.admission import Gate
from server.live.budget import UserBudget
from server.live.holds import owner_of
from server.live.rooms import RoomHub
from server.ws.commands import CommandSet
from server.ws.core import Session, close_within

log = logging.getLogger(__name__)


class RoomConnection(Session):
    """A client watching (and perhaps holding seats in) one screening's room."""

    # Slots: a worker keeps thousands of these for idle watchers, and each dict costs memory.
    __slots__ = (
        "hub", "holds", "screening_id", "settings", "jwt_secret", "auth_pending", "owner", "revocations",
        "_transport", "_me", "_limit_frames", "_limit_bytes", "_grace", "_held", "_again", "_task",
        "_behind_since", "_caught_up_at", "_close_task", "gate", "admission", "__weakref__",
    )

    def __init__(
        self, ws: web.WebSocketResponse, transport: Any, hub: RoomHub, screening_id: int,
        identity: Identity | None, commands: CommandSet, *, settings: Settings, jwt_secret: str,
        auth_pending: bool, revocations: Revocations, budget: UserBudget | None = None,
    ) -> None:
        super().__init__(ws, identity, commands, settings.websocket, slot=hub.redis_slot, budget=budget)
        self.hub = hub
        self.holds = hub.holds
        self.screening_id = screening_id
        self.settings = settings
        self.jwt_secret = jwt_secret
        self.revocations = revocations
        self.auth_pending = auth_pending and identity is None
        limits = settings.websocket
        self._transport = transport  # the upgraded request's asyncio transport
        # The hold owner of this socket's user ("u<id>"), or None for an anonymous watcher.
        self.owner = owner_of(identity.user_id) if identity is not None else None
        self._me = self._tag()
        self._limit_frames = limits.send_queue_frames
        self._limit_bytes = limits.send_queue_frames * p.BEHIND_BYTES_PER_FRAME
        self._grace = limits.behind_grace_seconds
        # While not None a snapshot is on its way: room frames wait here and follow it (those it
        # already contains are ignored by the client's version rule). The first thing is one.
        self._held: list[bytes] | None = []
        self._again = False  # the snapshot being fetched is out of date: fetch another
        self._task: asyncio.Task[None] | None = None  # a resync or catch-up, only while one runs
        self._behind_since: float | None = None  # fell behind; its catch-up snapshot not yet sent
        self._caught_up_at: float | None = None
        self._close_task: asyncio.Task[None] | None = None
        self.gate: Gate | None = None  # the waiting room's check before a hold (server/live/admission.py)
        self.admission: str | None = None  # this customer's admission pass, once sent

    # --- identity -------------------------------------------------------------------------

    def me(self) -> str | None:
        """This user's opaque owner tag in this screening's events."""
        return self._me

    def _tag(self) -> str | None:
        owner = self.owner
        return self.holds.owner_tag(self.screening_id, owner) if owner else None

    @property
    def behind(self) -> bool:
        """True while the socket is too far behind and waits for its catch-up snapshot."""
        return self._behind_since is not None

    def admitted_now(self) -> bool:
        """check_admission() without waiting when the gate can tell at once (raising as it does)."""
        gate, identity = self.gate, self.identity
        return gate is None or identity is None or gate.checked(self.screening_id, identity.user_id, self.admission)

    async def check_admission(self) -> None:
        """On sale yet, and admitted while the waiting room is on (the hold path's one check)."""
        if self.gate is not None and self.identity is not None:
            await self.gate.check(self.screening_id, self.identity.user_id, self.admission)

    def authenticate(self, identity: Identity) -> None:
        """Adopt the identity from an auth message; a snapshot follows since `mine` changed."""
        if self.identity is not None:
            self.revocations.unwatch(self.identity.user_id, self)
        self.identity = identity
        self.revocations.watch(identity.user_id, self)
        self.owner = owner_of(identity.user_id)
        self._me = self._tag()
        self.auth_pending = False
        self.resync()

    # The right to hold: a room socket ends (4001) when its user's sessions end (logout, a new
    # password); the client reconnects as a guest or logs in again. Their holds stay until their
    # TTL, so a checkout in another tab goes on. A role change or the token's expiry changes
    # nothing here: anyone may watch, a customer may hold, and holds are capped in time anyway.

    def revoked(self, reason: str, role: str | None) -> None:
        """Logout or a new password closes the socket; a new role does not."""
        if reason != ROLE:
            self.close(p.CLOSE_AUTH, "session ended; log in again")

    def expires_at(self) -> float:
        """Never checked: a room outlives its token (see above)."""
        return 0.0

    def expired(self) -> None:
        """Not called for rooms (expires_at is 0)."""

    # --- life -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Join the room, read until the peer goes, then leave; returns when the socket is done."""
        try:
            await self.hub.join(self)
        except (*STORE_OUTAGES, DomainError):
            log.warning("room %s: cannot open", self.screening_id, exc_info=True)
            await self.ws.close(code=p.CLOSE_INTERNAL, message=b"room unavailable")
            return
        if self.identity is not None:
            self.revocations.watch(self.identity.user_id, self)
        timer = None
        if self.auth_pending:
            timeout = self.settings.websocket.auth_timeout_seconds
            timer = asyncio.get_running_loop().call_later(timeout, self._auth_expired)
        try:
            self._write(p.text_frame(self.hub.hello(self.screening_id, self._me, self.auth_pending)))
            # The first snapshot is fetched here, in the handler's own task: no task per socket.
            await self._send_snapshot()
            if not self._closing:
                await self.read()
        finally:
            if self.identity is not None:
                self.revocations.unwatch(self.identity.user_id, self)
            if timer is not None:
                timer.cancel()
            self.hub.leave(self)
            if self._close_task is not None:
                await asyncio.gather(self._close_task, return_exceptions=True)
            self._closing = True
            self._held = None
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    def close(self, code: int, reason: str) -> None:
        """Close the socket with `code` without waiting (replies written so far go first)."""
        if self._closing:
            return
        self._closing = True
        self._held = None
        self.hub.leave(self)  # out of the room at once, even if the peer is slow to hear the close
        self._close_task = asyncio.ensure_future(close_within(self.ws, code, reason))

    def where(self) -> str:
        """What the logs call this socket: its room."""
        return f"room {self.screening_id}"

    def _auth_expired(self) -> None:
        if self.identity is None:
            self.close(p.CLOSE_AUTH, "auth timeout")

    # --- outgoing -------------------------------------------------------------------------

    def _write(self, frame: bytes) -> None:
        """Write one complete frame now (a closing socket or transport takes nothing more)."""
        if not self._closing and not self.ws.closed and not self._transport.is_closing():
            self._transport.write(frame)

    def send(self, payload: bytes) -> None:
        """Write a reply to this socket only (never dropped while the socket lives)."""
        if self._closing:
            return
        if self._transport.get_write_buffer_size() > self._limit_bytes:
            self._fall_behind()  # replies still go out; a socket behind for too long is closed
            if self._closing:
                return
        self._write(p.text_frame(payload))

    def push(self, frame: bytes) -> None:
        """Write a room broadcast (complete frame bytes, shared by the room); never blocks."""
        held = self._held
        if held is not None:
            if len(held) < self._limit_frames:
                held.append(frame)
            else:  # too much happened during one snapshot read: read a newer one instead
                held.clear()
                self._again = True
            return
        if self._behind_since is not None or self._closing:
            return  # the catch-up snapshot will include this change
        if self._transport.get_write_buffer_size() > self._limit_bytes:
            self._fall_behind()
            return
        self._write(frame)

    def resync(self) -> None:
        """Send this socket a fresh snapshot next, dropping the deltas it would replace."""
        if self._closing or self._behind_since is not None:
            return  # closing, or a catch-up snapshot is coming anyway
        if self._held is not None:
            self._again = True  # one is being fetched: fetch it anew, it may predate this call
            return
        shared = self.hub.shared_snapshot(self) if self.identity is None else None
        if shared is not None:  # a watcher, and the room's snapshot is current: no Redis, no task
            self._write(p.text_frame(shared))
            return
        self._held = []
        self._spawn(self._send_snapshot())

    async def _send_snapshot(self) -> None:
        """Fetch this socket's snapshot, write it, then the room frames held back meanwhile."""
        try:
            while True:
                self._again = False
                payload = await self.hub.snapshot_payload(self)
                if self._closing or self._held is None:
                    return  # closed, or fell behind meanwhile: the catch-up sends a newer one
                if not self._again:
                    break
        except (*STORE_OUTAGES, DomainError):
            log.warning("room %s: no snapshot for a socket", self.screening_id, exc_info=True)
            self.close(p.CLOSE_INTERNAL, "snapshot unavailable")
            return
        held, self._held = self._held, None
        self._write(p.text_frame(payload))
        for frame in held:
            self.push(frame)

    def _fall_behind(self) -> None:
        now = time.monotonic()
        if self._behind_since is not None:
            if now - self._behind_since > self._grace:
                self.close(p.CLOSE_TOO_SLOW, "too slow")
            return
        if self._caught_up_at is not None and now - self._caught_up_at < self._grace:
            self.close(p.CLOSE_TOO_SLOW, "too slow")
            return
        self._behind_since = now
        self._held = None  # deltas are dropped from now on; a snapshot being read is discarded
        self._spawn(self._catch_up())

    def _spawn(self, job: Any) -> None:
        """Run a resync or catch-up; a newer one supersedes one still waiting for its snapshot."""
        old, self._task = self._task, asyncio.ensure_future(job)
        if old is not None and not old.done() and old is not asyncio.current_task():
            old.cancel()

    async def _catch_up(self) -> None:
        """Wait until the peer has read most of its backlog, then send it a fresh snapshot."""
        drained = self._limit_bytes // 4
        while self._transport.get_write_buffer_size() > drained:
            assert self._behind_since is not None
            if time.monotonic() - self._behind_since > self._grace:
                self.close(p.CLOSE_TOO_SLOW, "too slow")
                return
            await asyncio.sleep(self.hub.tick)
            if self._closing or self._transport.is_closing():
                return
        self._behind_since, self._caught_up_at = None, time.monotonic()
        self._held = []
        await self._send_snapshot()

    async def snapshot(self) -> dict[str, Any]:
        """This socket's view of the screening (its own holds marked), as a snapshot message."""
        async with self.hub.redis_slot:
            snap = await self.holds.snapshot(self.screening_id, self.owner)
        return p.snapshot_message(snap, self.holds.clock.ms())
