"""A waiting socket (/ws/screenings/{id}/line): the socket core, no snapshot, no seat events.

It costs little: the client's number comes in the reply to `join`, and from then on the only
thing it receives is the line's shared frame (server/live/lines.py), written as the same bytes
to every waiting socket's transport. Commands: auth, join, admission (docs/protocol.md).
"""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from server.config import WebSocketSettings
from server.domain.tokens import Identity, read_access
from server.errors import Unauthorized
from server.live import protocol as p
from server.live.lines import LineHub
from server.ws.commands import CommandSet
from server.ws.core import Session, close_within

LINE = CommandSet("line", unavailable="the line is unavailable; try again")
LINE_MAX_MESSAGE = 2_048  # a waiting socket's commands are tiny (the longest: auth with a token)
UNREAD_LIMIT = 65_536  # bytes a peer left unread: it is gone (or stalled for minutes); it may come back


class LineConnection(Session):
    """One customer waiting in one screening's line."""

    __slots__ = ("hub", "screening_id", "jwt_secret", "_transport", "_close_task", "__weakref__")

    def __init__(self, ws: web.WebSocketResponse, transport: Any, hub: LineHub, screening_id: int,
                 identity: Identity | None, limits: WebSocketSettings, jwt_secret: str) -> None:
        super().__init__(ws, identity, LINE, limits)
        self.hub, self.screening_id, self.jwt_secret = hub, screening_id, jwt_secret
        self._transport = transport
        self._close_task: asyncio.Task[None] | None = None

    def arrive(self) -> None:
        """Join the hub's fan-out; the handler then reads commands (Session.read) until the peer goes."""
        self.hub.join(self)

    async def depart(self) -> None:
        """Leave the fan-out (the place in line stays in Redis) and let a close under way finish."""
        self.hub.leave(self)
        if self._close_task is not None:
            await asyncio.gather(self._close_task, return_exceptions=True)
        self._closing = True

    def push(self, frame: bytes) -> None:
        """Write a shared frame. A peer that left UNREAD_LIMIT unread is closed: the socket has no
        heartbeat (the tick's frames are its liveness check) and its place stays in Redis."""
        if self._closing or self._transport.is_closing():
            return
        if self._transport.get_write_buffer_size() >= UNREAD_LIMIT:
            self.close(p.CLOSE_TOO_SLOW, "not reading")
            return
        self._transport.write(frame)

    def send(self, payload: bytes) -> None:
        """Write a reply."""
        if not self._closing and not self._transport.is_closing():
            self._transport.write(p.text_frame(payload))

    def close(self, code: int, reason: str) -> None:
        """Close without waiting."""
        if self._closing:
            return
        self._closing = True
        self.hub.leave(self)
        self._close_task = asyncio.ensure_future(close_within(self.ws, code, reason))

    def where(self) -> str:
        """What the logs call this socket."""
        return f"line {self.screening_id}"


@LINE.command("auth", {"token": p.TOKEN}, ("token",), needs_user=False)
async def auth(conn: LineConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Log the socket in with an access token."""
    identity = read_access(msg["token"], conn.jwt_secret, now=conn.hub.line.clock.time())
    if identity is None:
        conn.after_reply(lambda: conn.close(p.CLOSE_AUTH, "invalid token"))
        raise Unauthorized("invalid or expired token")
    conn.identity = identity
    return {"user_id": identity.user_id}


@LINE.command("join", uses_redis=True)
async def join(conn: LineConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """My place in line (the same one from a second tab or after a reload); number null until the opening."""
    assert conn.identity is not None
    return await conn.hub.line.join(conn.screening_id, conn.identity.user_id)


@LINE.command("admission", uses_redis=True)
async def admission(conn: LineConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """My admission pass once my number is called: {pass, expires, number}."""
    assert conn.identity is not None
    return await conn.hub.line.admission(conn.screening_id, conn.identity.user_id)
