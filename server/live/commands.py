"""The room's commands: each declares its schema once and is registered explicitly in COMMANDS.

Handlers see only validated input and return the `result` object; they raise domain errors
(seat_taken, houseful, ...) which the connection maps to error replies in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from server.domain.tokens import read_access
from server.errors import Unauthorized
from server.live import protocol as p

if TYPE_CHECKING:
    from server.live.connection import Connection

Handler = Callable[["Connection", dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    """A registered command: its name, handler, compiled schema and what it needs."""

    name: str
    handler: Handler
    validate: p.Validator
    needs_user: bool
    uses_redis: bool


def command(
    name: str, properties: dict[str, Any] | None = None, required: tuple[str, ...] = (),
    *, needs_user: bool = True, uses_redis: bool = True,
) -> Callable[[Handler], Handler]:
    """Declare a handler's command name and schema (registered by listing it in COMMANDS)."""
    validate = p.compile_schema(p.command_schema(name, properties, required))

    def wrap(handler: Handler) -> Handler:
        handler.command = Command(name, handler, validate, needs_user, uses_redis)  # type: ignore[attr-defined]
        return handler

    return wrap


@command("auth", {"token": {"type": "string", "minLength": 1, "maxLength": 4096}}, ("token",),
         needs_user=False, uses_redis=False)
async def auth(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """Log the socket in with an access token; an invalid one closes it (CLOSE_AUTH)."""
    identity = read_access(msg["token"], conn.jwt_secret, now=conn.holds.clock.time())
    if identity is None:
        conn.close_after_reply(p.CLOSE_AUTH, "invalid token")
        raise Unauthorized("invalid or expired token")
    if conn.identity is not None and conn.identity.user_id != identity.user_id:
        raise Unauthorized("this socket is already logged in as another user")
    conn.authenticate(identity)
    return {"user_id": identity.user_id, "role": identity.role, "me": conn.me()}


@command("ping", needs_user=False, uses_redis=False)
async def ping(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """Liveness and clock: the server's time in unix ms."""
    return {"pong": True, "server_time": conn.holds.clock.ms()}


@command("snapshot", needs_user=False, uses_redis=False)  # Connection.snapshot takes its own Redis slot
async def snapshot(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """The whole seat map now, with its version (for a client that saw a gap)."""
    snap = await conn.snapshot()
    snap.pop("type", None)
    return snap


@command("hold", {"seats": p.SEAT_LIST, "wheelchair": {"type": "boolean"}}, ("seats",))
async def hold(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """Hold these seats, all or none."""
    return await conn.holds.hold(
        conn.screening_id, conn.owner, msg["seats"], wheelchair=msg.get("wheelchair", False)
    )


@command("hold_best", {
    "count": {"type": "integer", "minimum": 1, "maximum": p.MAX_SEATS_PER_COMMAND},
    "kind": {"enum": list(p.SEAT_KINDS)},
}, ("count",))
async def hold_best(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """Hold the best `count` adjacent seats of a kind, chosen by the server."""
    return await conn.holds.hold_best(conn.screening_id, conn.owner, msg["count"], msg.get("kind", "standard"))


@command("release", {"seats": p.SEAT_LIST})
async def release(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """Release these of my held seats, or all of them when `seats` is left out."""
    return await conn.holds.release(conn.screening_id, conn.owner, msg.get("seats"))


@command("extend")
async def extend(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """Push my holds' deadline out again (capped by holds.max_total_seconds)."""
    return await conn.holds.extend(conn.screening_id, conn.owner)


@command("my_holds")
async def my_holds(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    """The seats I hold here and their deadline."""
    return await conn.holds.my_holds(conn.screening_id, conn.owner)


def registry(*handlers: Handler) -> dict[str, Command]:
    """Commands by name, from handlers declared with @command."""
    return {h.command.name: h.command for h in handlers}  # type: ignore[attr-defined]


COMMANDS: dict[str, Command] = registry(auth, ping, snapshot, hold, hold_best, release, extend, my_holds)
