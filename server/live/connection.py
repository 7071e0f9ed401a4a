"""One room socket: the reader loop, its rate limit, and a bounded queue drained by one writer.

The reader parses, checks and runs one command at a time and only ever *enqueues* replies; the
writer task is the only code that awaits a send. Broadcast frames from the room are enqueued as
the same bytes for every socket. A socket whose queue overflows drops its queued broadcasts and
gets one fresh snapshot when its writer catches up; still behind after
websocket.behind_grace_seconds, or behind again that soon after catching up, it is closed with
CLOSE_TOO_SLOW. Either way a slow peer never holds the room back.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from server.config import Settings
from server.domain.tokens import Identity
from server.errors import DomainError
from server.live import protocol as p
from server.live.commands import COMMANDS, Command

if TYPE_CHECKING:
    from server.live.rooms import RoomHub

log = logging.getLogger(__name__)
CLOSE_SECONDS = 5.0  # longest a close may take before the transport is simply closed


async def close_within(ws: web.WebSocketResponse, code: int, reason: str, seconds: float = CLOSE_SECONDS) -> None:
    """Close a socket, and if the peer will not take the close frame in time, cut the connection."""
    try:
        await asyncio.wait_for(ws.close(code=code, message=reason.encode()), seconds)
    except (asyncio.TimeoutError, ConnectionError):
        # A peer that reads nothing keeps even a closing transport open (it waits to flush);
        # shutting the socket down ends it, so the handler and a graceful shutdown can finish.
        sock = ws.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Connection:
    """A client watching (and perhaps holding seats in) one screening's room."""

    def __init__(
        self, ws: web.WebSocketResponse, hub: RoomHub, screening_id: int, identity: Identity | None,
        *, settings: Settings, jwt_secret: str, auth_pending: bool,
    ) -> None:
        self.ws = ws
        self.hub = hub
        self.holds = hub.holds
        self.screening_id = screening_id
        self.identity = identity
        self.settings = settings
        self.jwt_secret = jwt_secret
        self.auth_pending = auth_pending and identity is None
        limits = settings.websocket
        self._limit = limits.send_queue_frames
        self._queue: deque[tuple[bytes, bool]] = deque()  # (frame, is_broadcast)
        self._wake = asyncio.Event()
        self._resync = True  # the first thing after hello is a snapshot
        self._grace = limits.behind_grace_seconds
        self._behind_since: float | None = None  # overflowed, snapshot not yet sent
        self._caught_up_at: float | None = None
        self._bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self._flood_limit = p.FLOOD_FACTOR * limits.command_burst
        self._flood_window = (0.0, 0)  # (window start, frames in it)
        self._last_id = 0
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._close_next: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None

    # --- identity -------------------------------------------------------------------------

    @property
    def owner(self) -> str | None:
        """The hold owner of this socket's user ("u<id>"), or None for an anonymous watcher."""
        return f"u{self.identity.user_id}" if self.identity else None

    def me(self) -> str | None:
        """This user's opaque owner tag in this screening's events."""
        owner = self.owner
        return self.holds.owner_tag(self.screening_id, owner) if owner else None

    @property
    def behind(self) -> bool:
        """True while the socket overflowed its queue and waits for its catch-up snapshot."""
        return self._behind_since is not None

    def authenticate(self, identity: Identity) -> None:
        """Adopt the identity from an auth message; a snapshot follows since `mine` changed."""
        self.identity = identity
        self.auth_pending = False
        self.resync()

    # --- life -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Join the room, read until the peer goes, then leave; returns when the socket is done."""
        try:
            await self.hub.join(self)
        except (RedisError, OSError, asyncio.TimeoutError, DomainError):
            log.warning("room %s: cannot open", self.screening_id, exc_info=True)
            await self.ws.close(code=p.CLOSE_INTERNAL, message=b"room unavailable")
            return
        timer = None
        if self.auth_pending:
            timeout = self.settings.websocket.auth_timeout_seconds
            timer = asyncio.get_running_loop().call_later(timeout, self._auth_expired)
        try:
            self._writer = asyncio.create_task(self._write_loop())
            async for msg in self.ws:
                if self._closing:
                    break
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await self._on_frame(None)
                elif msg.type is WSMsgType.ERROR:
                    break  # e.g. a frame above max_msg_size: aiohttp already closed with 1009
        finally:
            if timer is not None:
                timer.cancel()
            self.hub.leave(self)
            if self._close_task is not None:
                await asyncio.gather(self._close_task, return_exceptions=True)
            self._closing = True
            if self._writer is not None:
                self._writer.cancel()
                await asyncio.gather(self._writer, return_exceptions=True)

    def close(self, code: int, reason: str, *, flush: bool = False) -> None:
        """Close the socket with `code` without waiting; `flush` sends the queued replies first."""
        if self._closing:
            return
        self._closing = True
        if not flush:
            self._queue.clear()
        self._wake.set()
        self.hub.leave(self)  # out of the room at once, even if the peer is slow to hear the close
        self._close_task = asyncio.create_task(self._close(code, reason, flush))

    def close_after_reply(self, code: int, reason: str) -> None:
        """Close with `code` once the reply to the current command has been sent."""
        self._close_next = (code, reason)

    async def _close(self, code: int, reason: str, flush: bool) -> None:
        writer = self._writer
        if flush and writer is not None and writer is not asyncio.current_task():
            await asyncio.wait([writer], timeout=1.0)  # the writer ends once its queue is empty
        await close_within(self.ws, code, reason)

    def _auth_expired(self) -> None:
        if self.identity is None:
            self.close(p.CLOSE_AUTH, "auth timeout")

    # --- outgoing -------------------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        """Queue a reply for this socket only (never dropped while the socket lives)."""
        if self._closing:
            return
        if len(self._queue) >= self._limit:
            self._fall_behind()
            if self._closing or len(self._queue) >= self._limit:
                self.close(p.CLOSE_TOO_SLOW, "too slow")
                return
        self._queue.append((frame, False))
        self._wake.set()

    def push(self, frame: bytes) -> None:
        """Queue a room broadcast; never blocks, whatever the peer's speed."""
        if self._closing:
            return
        if self._behind_since is not None:
            if time.monotonic() - self._behind_since > self._grace:
                self.close(p.CLOSE_TOO_SLOW, "too slow")
            return  # the catch-up snapshot will include this change
        if self._resync:
            return  # likewise
        if len(self._queue) >= self._limit:
            self._fall_behind()
            return
        self._queue.append((frame, True))
        self._wake.set()

    def resync(self) -> None:
        """Send this socket a fresh snapshot next, dropping the deltas it would replace."""
        if self._closing:
            return
        self._queue = deque(item for item in self._queue if not item[1])
        self._resync = True
        self._wake.set()

    def _fall_behind(self) -> None:
        now = time.monotonic()
        if self._behind_since is not None or (
            self._caught_up_at is not None and now - self._caught_up_at < self._grace
        ):
            self.close(p.CLOSE_TOO_SLOW, "too slow")
            return
        self._behind_since = now
        self.resync()

    async def _write_loop(self) -> None:
        limits = self.settings
        hello = p.hello_frame(self.screening_id, self.me(), self.auth_pending, {
            "commands_per_second": limits.websocket.commands_per_second,
            "command_burst": limits.websocket.command_burst,
            "max_message_bytes": limits.websocket.max_message_bytes,
            "max_seats": limits.holds.max_seats_per_customer,
            "hold_seconds": limits.holds.ttl_seconds,
            "hold_max_seconds": limits.holds.max_total_seconds,
        })
        try:
            await self.ws.send_frame(hello, WSMsgType.TEXT)
            while True:
                if self._resync and not self._closing:
                    # Cleared first: broadcasts from now on queue up behind this snapshot.
                    self._resync = False
                    if self._behind_since is not None:
                        self._behind_since, self._caught_up_at = None, time.monotonic()
                    await self.ws.send_frame(p.encode(await self.snapshot()), WSMsgType.TEXT)
                elif self._queue:
                    await self.ws.send_frame(self._queue.popleft()[0], WSMsgType.TEXT)
                elif self._closing:
                    return
                else:
                    self._wake.clear()
                    await self._wake.wait()
        except ConnectionError:
            self._closing = True  # the peer is gone; the reader loop ends on its own
        except (RedisError, OSError, DomainError):
            log.warning("room %s: no snapshot for a socket", self.screening_id, exc_info=True)
            self.close(p.CLOSE_INTERNAL, "snapshot unavailable")

    async def snapshot(self) -> dict[str, Any]:
        """This socket's view of the screening (its own holds marked), as a snapshot message."""
        async with self.hub.redis_slot:
            snap = await self.holds.snapshot(self.screening_id, self.owner)
        return p.snapshot_message(snap)

    # --- incoming -------------------------------------------------------------------------

    def _admit(self) -> bool:
        """Token bucket per frame; far beyond it within a second closes the socket."""
        now = time.monotonic()
        start, count = self._flood_window
        if now - start >= 1.0:
            start, count = now, 0
        self._flood_window = (start, count + 1)
        if count + 1 > self._flood_limit:
            self.close(p.CLOSE_FLOOD, "flood")
            return False
        return self._bucket.take()

    async def _on_frame(self, text: str | None) -> None:
        admitted = self._admit()
        if self._closing:
            return
        if text is None:
            self.send(p.error_frame(None, p.BINARY_NOT_SUPPORTED, "send JSON text frames"))
            return
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.send(p.error_frame(None, p.INVALID_JSON, "malformed JSON"))
            return
        msg_id = msg.get("id") if isinstance(msg, dict) else None
        msg_id = msg_id if type(msg_id) is int and 0 < msg_id <= p.MAX_ID else None
        if not admitted:
            self.send(p.error_frame(msg_id, p.RATE_LIMITED, "too many commands; slow down"))
            return
        command = self._check(msg, msg_id)
        if command is not None:
            self.send(await self._run(command, msg))
            if self._close_next is not None:
                self.close(*self._close_next, flush=True)

    def _check(self, msg: Any, msg_id: int | None) -> Command | None:
        """Id, type, schema and auth checks, each with its own error; the command when all pass."""
        if not isinstance(msg, dict):
            self.send(p.error_frame(None, p.INVALID, "a command is a JSON object"))
            return None
        if msg_id is None:
            self.send(p.error_frame(None, p.INVALID, "id must be a positive integer", field="id"))
            return None
        if msg_id <= self._last_id:
            self.send(p.error_frame(msg_id, p.BAD_ID, f"id must be greater than {self._last_id}", field="id"))
            return None
        self._last_id = msg_id
        command = COMMANDS.get(msg.get("type")) if isinstance(msg.get("type"), str) else None
        if command is None:
            self.send(p.error_frame(msg_id, p.UNKNOWN_COMMAND, "unknown command", field="type"))
            return None
        problem = p.schema_problem(command.validate, msg)
        if problem is not None:
            self.send(p.error_frame(msg_id, p.INVALID, problem[0], field=problem[1]))
            return None
        if command.needs_user and self.identity is None:
            self.send(p.error_frame(msg_id, p.UNAUTHORIZED, "log in (or send auth) before holding seats"))
            return None
        return command

    async def _run(self, command: Command, msg: dict[str, Any]) -> bytes:
        """Run a checked command; every failure becomes an error reply, mapped here only."""
        msg_id = msg["id"]
        try:
            if command.uses_redis:
                async with self.hub.redis_slot:
                    result = await command.handler(self, msg)
            else:
                result = await command.handler(self, msg)
            return p.result_frame(msg_id, result)
        except DomainError as exc:
            return p.error_frame(msg_id, exc.code, exc.message, field=exc.field, **exc.extra)
        except (RedisError, OSError):
            log.warning("room %s: %s failed", self.screening_id, command.name, exc_info=True)
            return p.error_frame(msg_id, p.UNAVAILABLE, "seat service unavailable; try again")
        except Exception:
            log.exception("room %s: %s crashed", self.screening_id, command.name)
            return p.error_frame(msg_id, p.INTERNAL, "internal error")
