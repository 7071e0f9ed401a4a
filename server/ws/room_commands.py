"""The room's commands (/ws/screenings/{id}), registered on ROOM; docs/protocol.md lists them."""
from __future__ import annotations

from typing import Any

from server.domain.tokens import read_access
from server.errors import Unauthorized
from server.live import protocol as p
from server.live.admission import AdmissionRequired, pass_expiry
from server.metrics import HOLDS_REFUSED_HERE
from server.ws.commands import CommandSet
from server.ws.room import RoomConnection

ROOM = CommandSet("room", unavailable="seat service unavailable; try again")


@ROOM.command("auth", {"token": p.TOKEN}, ("token",), needs_user=False)
async def auth(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Log the socket in with an access token; an invalid one closes it (CLOSE_AUTH)."""
    identity = read_access(msg["token"], conn.jwt_secret, now=conn.holds.clock.time())
    if identity is None:
        conn.after_reply(lambda: conn.close(p.CLOSE_AUTH, "invalid token"))
        raise Unauthorized("invalid or expired token")
    if conn.identity is not None and conn.identity.user_id != identity.user_id:
        raise Unauthorized("this socket is already logged in as another user")
    conn.authenticate(identity)
    return {"user_id": identity.user_id, "role": identity.role, "me": conn.me()}


@ROOM.command("ping", needs_user=False)
async def ping(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Liveness and clock: the server's time in unix ms."""
    return {"pong": True, "server_time": conn.holds.clock.ms()}


@ROOM.command("snapshot", needs_user=False)  # RoomConnection.snapshot takes its own Redis slot
async def snapshot(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """The whole seat map now, with its version (for a client that saw a gap)."""
    snap = await conn.snapshot()
    snap.pop("type", None)
    return snap


@ROOM.command("hold", {"seats": p.SEAT_LIST, "wheelchair": {"type": "boolean"}}, ("seats",))
async def hold(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Hold these seats, all or none; refused here when the room knows Redis would refuse it."""
    if not conn.admitted_now():
        await conn.check_admission()
    seats = msg["seats"]
    if len(seats) <= conn.settings.holds.max_seats_per_customer:  # else the store says limit_exceeded
        refused = conn.hub.refusal(conn.screening_id, seats, conn.me())
        if refused is not None:  # most holds of a rush: no Redis round trip (server/live/taken.py)
            HOLDS_REFUSED_HERE.inc()
            raise refused
    async with conn.hub.redis_slot:
        return await conn.holds.hold(conn.screening_id, conn.owner, seats, wheelchair=msg.get("wheelchair", False))


@ROOM.command("hold_best", {
    "count": {"type": "integer", "minimum": 1, "maximum": p.MAX_SEATS_PER_COMMAND},
    "kind": {"enum": list(p.SEAT_KINDS)},
}, ("count",), uses_redis=True)
async def hold_best(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Hold the best `count` adjacent seats of a kind, chosen by the server."""
    await conn.check_admission()
    return await conn.holds.hold_best(conn.screening_id, conn.owner, msg["count"], msg.get("kind", "standard"))


@ROOM.command("release", {"seats": p.SEAT_LIST}, uses_redis=True)
async def release(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Release these of my held seats, or all of them when `seats` is left out."""
    return await conn.holds.release(conn.screening_id, conn.owner, msg.get("seats"))


@ROOM.command("extend", uses_redis=True)
async def extend(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Push my holds' deadline out again (capped by holds.max_total_seconds)."""
    return await conn.holds.extend(conn.screening_id, conn.owner)


@ROOM.command("my_holds", uses_redis=True)
async def my_holds(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """The seats I hold here and their deadline."""
    return await conn.holds.my_holds(conn.screening_id, conn.owner)


@ROOM.command("admission", {"pass": {"type": "string", "minLength": 1, "maxLength": 200}}, ("pass",))
async def admission(conn: RoomConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Show my waiting-room admission; later holds need it while the room is gated."""
    assert conn.identity is not None and conn.gate is not None
    expires = pass_expiry(conn.gate.key, msg["pass"], conn.screening_id, conn.identity.user_id, conn.holds.clock.ms())
    if expires is None:
        raise AdmissionRequired("This admission is not valid here, not yours, or over.", field="pass")
    conn.admission = msg["pass"]
    return {"expires": expires}
