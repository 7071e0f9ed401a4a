"""One room socket: the reader loop, its rate limit, and direct, never-awaited writes.

The reader parses, checks and runs one command at a time. Nothing awaits a send: every frame
(replies, snapshots, the room's broadcasts) is complete WebSocket frame bytes written straight
to the socket's transport, so the room's tick writes the same bytes to thousands of sockets
without a task wake-up per socket. aiohttp writes its own frames (ping, pong, close) the same way,
synchronously and whole, since compression is off (see ws.py): frames never interleave.

The transport's unsent bytes are the slow-consumer signal. A socket with more than
send_queue_frames x BEHIND_BYTES_PER_FRAME unsent is *behind*: the room's deltas are no longer
written to it, and once its peer has read most of the backlog it gets one fresh snapshot. Still
behind after websocket.behind_grace_seconds, or behind again that soon after catching up, it is
closed with CLOSE_TOO_SLOW. Either way a slow peer never holds the room back.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
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

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self, now: float) -> bool:
        """Spend one token if there is one (`now` is time.monotonic())."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Connection:
    """A client watching (and perhaps holding seats in) one screening's room."""

    # Slots: a worker keeps thousands of these for idle watchers, and each dict costs memory.
    __slots__ = (
        "ws", "hub", "holds", "screening_id", "identity", "settings", "jwt_secret", "auth_pending",
        "_transport", "_me", "_limit_frames", "_limit_bytes", "_grace", "_held", "_again", "_task",
        "_behind_since", "_caught_up_at", "_bucket", "_flood_limit", "_flood_start", "_flood_count",
        "_last_id", "_closing", "_close_task", "_close_next", "__weakref__",
    )

    def __init__(
        self, ws: web.WebSocketResponse, transport: Any, hub: RoomHub, screening_id: int,
        identity: Identity | None, *, settings: Settings, jwt_secret: str, auth_pending: bool,
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
        self._transport = transport  # the upgraded request's asyncio transport
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
        self._bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self._flood_limit = p.FLOOD_FACTOR * limits.command_burst
        self._flood_start, self._flood_count = 0.0, 0
        self._last_id = 0
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._close_next: tuple[int, str] | None = None

    # --- identity -------------------------------------------------------------------------

    @property
    def owner(self) -> str | None:
        """The hold owner of this socket's user ("u<id>"), or None for an anonymous watcher."""
        return f"u{self.identity.user_id}" if self.identity else None

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

    def authenticate(self, identity: Identity) -> None:
        """Adopt the identity from an auth message; a snapshot follows since `mine` changed."""
        self.identity = identity
        self._me = self._tag()
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
            self._write(p.text_frame(self.hub.hello(self.screening_id, self._me, self.auth_pending)))
            # The first snapshot is fetched here, in the handler's own task: no task per socket.
            await self._send_snapshot()
            if not self._closing:
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

    def close_after_reply(self, code: int, reason: str) -> None:
        """Close with `code` once the reply to the current command has been sent."""
        self._close_next = (code, reason)

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
        except (RedisError, OSError, DomainError):
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

    # --- incoming -------------------------------------------------------------------------

    def _admit(self) -> bool:
        """Token bucket per frame; far beyond it within a second closes the socket."""
        now = time.monotonic()
        if now - self._flood_start >= 1.0:
            self._flood_start, self._flood_count = now, 0
        self._flood_count += 1
        if self._flood_count > self._flood_limit:
            self.close(p.CLOSE_FLOOD, "flood")
            return False
        return self._bucket.take(now)

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
                self.close(*self._close_next)

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
