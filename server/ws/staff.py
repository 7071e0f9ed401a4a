"""A staff feed socket (/ws/dashboard): the socket core, with frames queued for one writer task.

The reader never awaits a send: frames go into the viewer's bounded queue (filled by the hub's
tick too) and one writer task drains it; a full queue closes the socket (CLOSE_TOO_SLOW).
Without an identity from the upgrade, the first message must log in, within a time limit.
The protocol is in docs/dashboard.md.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from server.clock import Clock
from server.config import WebSocketSettings
from server.domain.days import DayRange
from server.domain.revocation import ROLE, Revocations
from server.domain.tokens import Identity, has_rank, read_access
from server.errors import STORE_OUTAGES
from server.live import protocol as p
from server.live.budget import UserBudget
from server.live.dashboard import DashboardHub, Viewer
from server.ws.commands import CommandSet
from server.ws.core import Session, close_within, request_id

log = logging.getLogger(__name__)


def occupancy_frame(listing: dict[str, Any]) -> bytes:
    """A full list for the viewer's filter: its rows and totals."""
    return p.encode({"type": "occupancy", **listing})


class StaffConnection(Session):
    """One open staff dashboard."""

    __slots__ = ("hub", "viewer", "tick_ms", "revocations", "_writer", "_close_task")

    def __init__(
        self, ws: web.WebSocketResponse, identity: Identity, commands: CommandSet, hub: DashboardHub,
        flt: DayRange, limits: WebSocketSettings, revocations: Revocations, last_id: int = 0,
        budget: UserBudget | None = None, follows_today: bool = False,
    ) -> None:
        super().__init__(ws, identity, commands, limits, last_id=last_id, budget=budget)
        self.hub = hub
        self.revocations = revocations
        self.viewer = Viewer(flt, limits.send_queue_frames, self._dropped, follows_today)
        self.tick_ms = limits.dashboard_tick_ms
        self._writer: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None

    def send(self, payload: bytes) -> None:
        """Queue a message for the writer (a full queue drops this dashboard)."""
        self.viewer.offer(payload)

    def close(self, code: int, reason: str) -> None:
        """Close this dashboard (once)."""
        self.viewer.drop(code, reason)

    def where(self) -> str:
        """What the logs call this socket."""
        return "dashboard"

    # --- the right to watch: lost on logout, a new password, demotion, token expiry ----------

    def revoked(self, reason: str, role: str | None) -> None:
        """The user's sessions ended (4001) or their role changed (4003 unless still staff)."""
        if reason != ROLE:
            self.close(p.CLOSE_AUTH, "session ended; log in again")
        elif role is None or not has_rank(role, "staff"):
            self.close(p.CLOSE_FORBIDDEN, "the feed is for staff and admins")

    def expires_at(self) -> float:
        """When the access token this feed was opened with expires."""
        assert self.identity is not None
        return self.identity.expires_at

    def expired(self) -> None:
        """The token expired: the client reconnects with a fresh one."""
        self.close(p.CLOSE_AUTH, "access token expired")

    def _dropped(self, code: int, reason: str) -> None:
        # By us or by the hub's tick (too slow): stop writing first, so a slow peer's pending frames
        # are abandoned rather than awaited, then close within a bounded time.
        self._closing = True
        if self._writer is not None:
            self._writer.cancel()
        self._close_task = asyncio.ensure_future(close_within(self.ws, code, reason))

    async def run(self) -> None:
        """hello, the first full list, then commands until the peer leaves; returns when done."""
        assert self.identity is not None
        self._writer = asyncio.create_task(self._write())
        self.revocations.watch(self.identity.user_id, self)
        try:
            await self.hub.join(self.viewer)
            self.send(p.encode({"type": "hello", "protocol": p.PROTOCOL_VERSION, "role": self.identity.role,
                                "tick_ms": self.tick_ms, "filter": self.viewer.filter.describe()}))
            try:
                listing = await self.hub.show(self.viewer, self.viewer.filter)
            except STORE_OUTAGES as exc:
                log.warning("dashboard: cannot list occupancy: %r", exc)
                self.close(p.CLOSE_INTERNAL, "occupancy unavailable")
                return
            self.send(occupancy_frame(listing))
            await self.read()
        finally:
            self.revocations.unwatch(self.identity.user_id, self)
            self.hub.leave(self.viewer)
            self._writer.cancel()
            if self._close_task is not None:
                await asyncio.gather(self._close_task, return_exceptions=True)

    async def _write(self) -> None:
        """The socket's one writer: drains the viewer's queue in order."""
        while not self.ws.closed:
            frame = await self.viewer.frames.get()
            try:
                await self.ws.send_frame(frame, WSMsgType.TEXT)
            except (ConnectionError, RuntimeError):
                return


async def first_auth(ws: web.WebSocketResponse, secret: str, timeout: float,
                     clock: Clock) -> tuple[Identity | None, int | None]:
    """Anonymous upgrade: the first message must be {"type": "auth", "token": ...} within `timeout`.

    As in the rooms it may carry an `id` (then later ids must be above it). Returns the identity
    and the id; (None, ...) means refused, answered and closed (CLOSE_AUTH).
    """
    try:
        msg = await ws.receive(timeout)
    except asyncio.TimeoutError:
        await refuse(ws, None, p.UNAUTHORIZED, "auth not sent in time", p.CLOSE_AUTH)
        return None, None
    user, msg_id = None, None
    if msg.type == WSMsgType.TEXT:
        try:
            data = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and data.get("type") == "auth" and isinstance(data.get("token"), str):
            user, msg_id = read_access(data["token"], secret, now=clock.time()), request_id(data)
    if user is None:
        await refuse(ws, msg_id, p.UNAUTHORIZED, "a valid access token is required", p.CLOSE_AUTH)
    return user, msg_id


async def refuse(ws: web.WebSocketResponse, msg_id: int | None, code: str, message: str, close_code: int) -> None:
    """Answer with an error result (to msg_id, or null) and close with close_code."""
    if not ws.closed:
        await ws.send_frame(p.error_frame(msg_id, code, message), WSMsgType.TEXT)
        await close_within(ws, close_code, message)
