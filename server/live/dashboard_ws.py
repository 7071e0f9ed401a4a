"""The `/ws/dashboard` edge: staff authentication, filters, and one writer per socket.

The reader never awaits a send: frames go into the viewer's bounded queue (filled by the hub's
tick too) and one writer task drains it. The protocol is in docs/dashboard.md.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, AsyncIterator, Mapping

import asyncpg
import fastjsonschema
import orjson
from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from server import keys
from server.clock import Clock
from server.api.http import ROLE_RANK
from server.domain.tokens import Identity, read_access
from server.errors import DomainError, Forbidden, InvalidInput
from server.live import protocol as p
from server.live.dashboard import DashboardHub, Filter, Viewer
from server.middleware import origin_allowed
from server.redis_store import KeySpace

log = logging.getLogger(__name__)
FORBIDDEN = "forbidden"
CLOSE_FORBIDDEN = 4003  # the token is a customer's: the feed is for staff and admins
CLOSE_TIMEOUT = 5.0  # seconds allowed for a closing handshake with a stuck peer
QUERY_FIELDS = {"cinema_id": "cinema_id", "date": "date", "from": "start", "to": "end"}
IGNORED_QUERY = {"auth"}  # the rooms' "auth will follow" flag; here auth always follows when no identity
DATE = {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"}
FILTER_CHECK = p.compile_schema(p.command_schema("filter", {
    "cinema_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**63 - 1},
    "date": DATE, "from": DATE, "to": DATE,
}))


def filter_from_query(query: Mapping[str, str]) -> Filter:
    """The socket URL's ?cinema_id=&date= (or from/to) as a Filter; 400 before the upgrade."""
    args: dict[str, Any] = {}
    for name in query:
        if name in IGNORED_QUERY:
            continue
        if name not in QUERY_FIELDS:
            raise InvalidInput(f"unknown query parameter {name}", field=name)
        args[QUERY_FIELDS[name]] = query[name]
    if "cinema_id" in args:
        try:
            args["cinema_id"] = int(args["cinema_id"])
        except ValueError:
            raise InvalidInput("cinema_id must be an integer", field="cinema_id") from None
    return Filter.parse(**args)


async def dashboard_socket(request: web.Request) -> web.StreamResponse:
    """GET /ws/dashboard: the staff occupancy feed."""
    settings = request.app[keys.SETTINGS].websocket
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(request, origin.rstrip("/")):
        raise Forbidden("this origin may not open the dashboard")
    flt = await request.app[keys.DASHBOARD].resolve(filter_from_query(request.query))
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_seconds, max_msg_size=settings.max_message_bytes,
        timeout=CLOSE_TIMEOUT,  # how long a close waits for the peer's close frame
    )
    if not ws.can_prepare(request).ok:
        raise InvalidInput("this URL speaks WebSocket only")
    await ws.prepare(request)
    # The shared set is closed with GOING_AWAY on shutdown (the rooms' on_shutdown hook).
    sockets = request.app.get(keys.SOCKETS)
    if sockets is not None:
        sockets.add(ws)
    try:
        user, auth_id = request.get(keys.USER), 0
        if user is None:
            user, auth_id = await _first_auth(ws, request.app[keys.JWT_SECRET], settings.auth_timeout_seconds,
                                              request.app[keys.CLOCK])
        if user is None:
            return ws
        if ROLE_RANK[user.role] < ROLE_RANK["staff"]:
            await ws.send_frame(_error_message(FORBIDDEN, "the feed is for staff and admins"), WSMsgType.TEXT)
            await ws.close(code=CLOSE_FORBIDDEN, message=b"staff only")
            return ws
        await _serve(request, ws, user, flt, auth_id)
    finally:
        if sockets is not None:
            sockets.discard(ws)
    return ws


async def _serve(request: web.Request, ws: web.WebSocketResponse, user: Identity, flt: Filter, last_id: int) -> None:
    settings = request.app[keys.SETTINGS].websocket
    hub = request.app[keys.DASHBOARD]
    closing: list[asyncio.Task[None]] = []
    viewer = Viewer(flt, settings.send_queue_frames, lambda code, why: closing.append(
        asyncio.create_task(_close(ws, writer, code, why))))
    writer = asyncio.create_task(_write(ws, viewer))
    try:
        await hub.join(viewer)
        viewer.offer(p.encode({"type": "hello", "protocol": p.PROTOCOL_VERSION, "role": user.role,
                               "tick_ms": settings.dashboard_tick_ms, "filter": flt.describe()}))
        try:
            listing = await hub.show(viewer, flt)
        except (RedisError, OSError, asyncpg.PostgresError) as exc:
            log.warning("dashboard: cannot list occupancy: %r", exc)
            viewer.drop(p.CLOSE_INTERNAL, "occupancy unavailable")
            return
        viewer.offer(p.encode({"type": "occupancy", **listing}))
        await _read(ws, hub, viewer, settings.commands_per_second, settings.command_burst, last_id)
    finally:
        hub.leave(viewer)
        writer.cancel()
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)


async def _first_auth(ws: web.WebSocketResponse, secret: str, timeout: float,
                      clock: Clock) -> tuple[Identity | None, int]:
    """Anonymous upgrade: the first message must be {"type":"auth","token":...} in time.

    As in the rooms, the message may carry an `id`; it is then answered with a result.
    Returns the identity (None: refused and closed) and the id used (0 if none).
    """
    try:
        msg = await ws.receive(timeout)
    except asyncio.TimeoutError:
        await _refuse(ws, None, "auth not sent in time")
        return None, 0
    user, msg_id = None, None
    if msg.type == WSMsgType.TEXT:
        try:
            data = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and data.get("type") == "auth" and isinstance(data.get("token"), str):
            user = read_access(data["token"], secret, now=clock.time())
            given = data.get("id")
            if isinstance(given, int) and not isinstance(given, bool) and 1 <= given <= p.MAX_ID:
                msg_id = given
    if user is None:
        await _refuse(ws, msg_id, "a valid access token is required")
    elif msg_id is not None and ROLE_RANK[user.role] >= ROLE_RANK["staff"]:
        await ws.send_frame(p.result_frame(msg_id, {"role": user.role}), WSMsgType.TEXT)
    return user, msg_id or 0


async def _refuse(ws: web.WebSocketResponse, msg_id: int | None, why: str) -> None:
    if not ws.closed:
        frame = p.error_frame(msg_id, p.UNAUTHORIZED, why) if msg_id else _error_message(p.UNAUTHORIZED, why)
        await ws.send_frame(frame, WSMsgType.TEXT)
        await ws.close(code=p.CLOSE_AUTH, message=why.encode()[:120])


def _error_message(code: str, message: str) -> bytes:
    return p.encode({"type": "error", "error": {"code": code, "message": message}})


async def _read(
    ws: web.WebSocketResponse, hub: DashboardHub, viewer: Viewer, per_second: int, burst: int, last_id: int,
) -> None:
    """Commands in order, one at a time: a filter change is answered before the next is read."""
    bucket, last = float(burst), time.monotonic()
    async for msg in ws:
        now = time.monotonic()
        bucket, last = min(float(burst), bucket + (now - last) * per_second), now
        if bucket < 1:
            if bucket < -p.FLOOD_FACTOR * burst:
                viewer.drop(p.CLOSE_FLOOD, "too many commands")
                return
            bucket -= 1
            viewer.offer(p.error_frame(None, p.RATE_LIMITED, "too many commands"))
            continue
        bucket -= 1
        if msg.type != WSMsgType.TEXT:
            viewer.offer(p.error_frame(None, p.BINARY_NOT_SUPPORTED, "send JSON text frames"))
            continue
        last_id = await _command(msg.data, hub, viewer, last_id)


async def _command(raw: str, hub: DashboardHub, viewer: Viewer, last_id: int) -> int:
    """Handle one text frame; returns the highest id seen so far."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        viewer.offer(p.error_frame(None, p.INVALID_JSON, "malformed JSON"))
        return last_id
    msg_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(msg_id, int) or isinstance(msg_id, bool) or not last_id < msg_id <= p.MAX_ID:
        viewer.offer(p.error_frame(None, p.BAD_ID, "every request needs an id above the previous one"))
        return last_id
    if data.get("type") != "filter":
        viewer.offer(p.error_frame(msg_id, p.UNKNOWN_COMMAND, "the only command is filter"))
        return msg_id
    try:
        FILTER_CHECK(data)
        flt = await hub.resolve(Filter.parse(data.get("cinema_id"), data.get("date"), data.get("from"),
                                             data.get("to")))
        listing = await hub.show(viewer, flt)
    except fastjsonschema.JsonSchemaValueException as exc:
        viewer.offer(p.error_frame(msg_id, p.INVALID, exc.message.replace("data.", "")))
    except DomainError as exc:
        viewer.offer(p.error_frame(msg_id, exc.code, exc.message, field=exc.field))
    except (RedisError, OSError, asyncpg.PostgresError) as exc:
        log.warning("dashboard: cannot list occupancy: %r", exc)
        viewer.offer(p.error_frame(msg_id, p.UNAVAILABLE, "occupancy unavailable, try again"))
    else:
        viewer.offer(p.result_frame(msg_id, {"filter": flt.describe()}))
        viewer.offer(p.encode({"type": "occupancy", **listing}))
    return msg_id


async def _write(ws: web.WebSocketResponse, viewer: Viewer) -> None:
    """The socket's one writer: drains the viewer's queue in order."""
    while not ws.closed:
        frame = await viewer.frames.get()
        try:
            await ws.send_frame(frame, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            return


async def _close(ws: web.WebSocketResponse, writer: asyncio.Task[None], code: int, why: str) -> None:
    # Stop writing first: a slow peer's pending frames are abandoned, never awaited by others.
    writer.cancel()
    try:
        await asyncio.wait_for(ws.close(code=code, message=why.encode()), CLOSE_TIMEOUT)
    except (asyncio.TimeoutError, ConnectionError):
        pass


async def dashboard_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the worker's DashboardHub (after the hold store, which it reads)."""
    settings = app[keys.SETTINGS]
    app[keys.DASHBOARD] = DashboardHub(
        pool=app[keys.DB], queries=app[keys.QUERIES].dashboard, redis=app[keys.REDIS],
        holds=app[keys.HOLDS], keyspace=KeySpace(settings.redis.key_prefix),
        tick_ms=settings.websocket.dashboard_tick_ms, currency=settings.checkout.currency,
        clock=app[keys.CLOCK], days_sql=app[keys.QUERIES].days, default_zone=settings.catalog.default_time_zone,
    )
    yield
    await app[keys.DASHBOARD].close()
