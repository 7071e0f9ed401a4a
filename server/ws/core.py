"""The socket core: what every Houseful WebSocket does with the frames its client sends.

One message at a time, each checked in this order, each failure with its own error code: the
rate limit (a token bucket per socket, far beyond which within a second closes the socket,
CLOSE_FLOOD; then the user's budget over all their sockets, server/live/budget.py), JSON text, an object, an integer id above the previous one, a registered command, its schema, its
login requirement. Then the command runs, and every exception becomes an error reply here, in
one place. Replies are {id, type: "result", success, result | error: {code, message, ...}}.

A subclass decides how bytes reach the peer (`send`, never awaited) and how the socket closes
(`close`, bounded by close_within): the room (room.py) writes to the transport, the staff feed
(staff.py) queues for one writer task.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any, Callable

import orjson
from aiohttp import WSMessage, WSMsgType, web

from server.config import WebSocketSettings
from server.domain.tokens import Identity
from server.errors import DomainError, is_store_outage
from server.live import protocol as p
from server.live.budget import UserBudget
from server.metrics import COMMANDS_TALLY
from server.slots import Slots
from server.ws.commands import Command, CommandSet

log = logging.getLogger(__name__)
CLOSE_SECONDS = 5.0  # longest a close may take before the transport is simply closed
_SOCKET_ENDS = frozenset((WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR))


async def close_within(ws: web.WebSocketResponse, code: int, reason: str, seconds: float = CLOSE_SECONDS) -> None:
    """Close a socket, and if the peer will not take the close frame in time, cut the connection."""
    try:
        await asyncio.wait_for(ws.close(code=code, message=reason.encode()[:120]), seconds)
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


def request_id(msg: Any) -> int | None:
    """A message's id if it is a valid one (a positive integer a JavaScript double holds exactly)."""
    msg_id = msg.get("id") if isinstance(msg, dict) else None
    return msg_id if type(msg_id) is int and 0 < msg_id <= p.MAX_ID else None


class Session:
    """One client's command stream; subclasses supply `send`, `close` and `where`."""

    # Slots: a worker keeps thousands of sockets open, and each instance dict costs memory.
    __slots__ = (
        "ws", "identity", "commands", "slot", "budget", "_closing", "_bucket", "_flood_limit", "_flood_start",
        "_flood_count", "_last_id", "_then",
    )

    def __init__(
        self, ws: web.WebSocketResponse, identity: Identity | None, commands: CommandSet,
        limits: WebSocketSettings, slot: Slots | None = None, last_id: int = 0,
        budget: UserBudget | None = None,
    ) -> None:
        self.ws = ws
        self.identity = identity
        self.commands = commands
        self.slot = slot  # entered around commands that use Redis (bounds the shared pool)
        self.budget = budget  # the user's commands over all their sockets (None: this socket's only)
        self._closing = False
        self._bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self._flood_limit = p.FLOOD_FACTOR * limits.command_burst
        self._flood_start, self._flood_count = 0.0, 0
        self._last_id = last_id
        self._then: Callable[[], None] | None = None

    # --- what a kind of socket supplies ----------------------------------------------------

    def send(self, payload: bytes) -> None:
        """Send one encoded message to this peer without waiting."""
        raise NotImplementedError

    def close(self, code: int, reason: str) -> None:
        """Close with `code` without waiting (replies sent so far go first)."""
        raise NotImplementedError

    def where(self) -> str:
        """What the logs call this socket."""
        return self.commands.label

    # --- the core ------------------------------------------------------------------------

    def after_reply(self, action: Callable[[], None]) -> None:
        """Run `action` right after the reply to the current command (a follow-up frame, a close)."""
        self._then = action

    async def read(self) -> None:
        """Handle the peer's frames, one at a time, until it leaves or the socket closes."""
        # Not `async for msg in ws`: its __anext__ frame, and the last message held in `msg`,
        # would stay for as long as the socket waits (memory per waiting socket, issue 12).
        while await self._on_message(await self.ws.receive()):
            pass

    async def _on_message(self, msg: WSMessage) -> bool:
        """One message from aiohttp, handled; False once the socket is done."""
        if self._closing:
            return False
        kind = msg.type
        if kind is WSMsgType.TEXT:
            await self.on_frame(msg.data)
        elif kind is WSMsgType.BINARY:
            await self.on_frame(None)
        elif kind in _SOCKET_ENDS:  # ERROR: e.g. a frame above max_msg_size, aiohttp already closed with 1009
            return False
        return True

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

    async def on_frame(self, text: str | None) -> None:
        """One frame from the peer (None: a binary frame): checked, run, answered."""
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
        msg_id = request_id(msg)
        if admitted and self.budget is not None and self.identity is not None:
            admitted = await self.budget.take(self.identity.user_id)
        if not admitted:
            self.send(p.error_frame(msg_id, p.RATE_LIMITED, "too many commands; slow down"))
            return
        command = self._check(msg, msg_id)
        if command is not None:
            self.send(await self._run(command, msg))
            then = self._then
            if then is not None:
                self._then = None
                then()

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
        kind = msg.get("type")
        command = self.commands.get(kind) if isinstance(kind, str) else None
        if command is None:
            self.send(p.error_frame(msg_id, p.UNKNOWN_COMMAND, "unknown command", field="type"))
            return None
        quick = command.quick
        problem = None if quick is not None and quick(msg) else p.schema_problem(command.validate, msg)
        if problem is not None:
            self.send(p.error_frame(msg_id, p.INVALID, problem[0], field=problem[1]))
            return None
        if command.needs_user and self.identity is None:
            self.send(p.error_frame(msg_id, p.UNAUTHORIZED, "log in (or send auth) first"))
            return None
        return command

    async def _run(self, command: Command, msg: dict[str, Any]) -> bytes:
        """Run a checked command; every failure becomes an error reply, mapped here only."""
        msg_id = msg["id"]
        started, outcome = time.perf_counter(), "ok"
        try:
            if command.uses_redis and self.slot is not None:
                async with self.slot:
                    result = await command.handler(self, msg)
            else:
                result = await command.handler(self, msg)
            return p.result_frame(msg_id, result)
        except DomainError as exc:
            outcome = exc.code
            return p.error_frame(msg_id, exc.code, exc.message, field=exc.field, **exc.extra)
        except Exception as exc:
            if is_store_outage(exc):  # the command may work if tried again (`unavailable`): not a bug
                outcome = p.UNAVAILABLE
                log.warning("%s: %s failed", self.where(), command.name, exc_info=True)
                return p.error_frame(msg_id, p.UNAVAILABLE, self.commands.unavailable)
            outcome = p.INTERNAL
            log.exception("%s: %s crashed", self.where(), command.name)
            return p.error_frame(msg_id, p.INTERNAL, "internal error")
        finally:
            COMMANDS_TALLY.add(self.commands.label, command.name, outcome, time.perf_counter() - started)
