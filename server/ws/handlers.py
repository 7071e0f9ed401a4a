"""The WebSocket endpoints: /ws/screenings/{id} (a seat room), its /line (the waiting room) and /ws/dashboard.

Each checks what it can before the upgrade (Origin, the screening or the filter), upgrades with
the configured limits, and hands the socket to its connection with its command set.
"""
from __future__ import annotations

import asyncio
import socket
from typing import Any, Mapping

from aiohttp import WSMsgType, web

from server import keys
from server.config import WebSocketSettings
from server.domain.days import DayRange
from server.errors import InvalidInput
from server.live import protocol as p
from server.origin import check_socket_origin
from server.ws.core import CLOSE_SECONDS, close_within
from server.ws.line import LINE_MAX_MESSAGE, LineConnection
from server.ws.room import RoomConnection
from server.ws.room_commands import ROOM
from server.ws.staff import StaffConnection, first_auth, refuse
from server.metrics import SOCKETS_OPEN
from server.ws.staff_commands import STAFF

# The open-sockets gauge per kind, looked up once: labels() cost ~5 % of the worker's CPU per
# arrival in a 10,000-customer burst into the line (bench/waiting_room_bench.py --arrivals-only).
_OPEN: dict[str, Any] = {}
QUERY_FIELDS = {"cinema_id": "cinema_id", "date": "date", "from": "start", "to": "end"}
IGNORED_QUERY = {"auth"}  # the rooms' "auth will follow" flag; the feed always waits for auth without identity


async def screening_room(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to a screening's room: hello, snapshot, then deltas and command replies."""
    app = request.app
    settings = app[keys.SETTINGS]
    check_socket_origin(request, "the seat map")
    screening_id = int(request.match_info["id"])
    hub = app[keys.ROOMS]
    if not hub.is_open(screening_id):  # an open room means the screening exists and is warm
        async with hub.redis_slot:
            await hub.holds.warm(screening_id)  # NotFound -> 404 before the upgrade
    auth_pending = request.query.get("auth", "") in ("1", "true")
    # No permessage-deflate: browsers offer it and aiohttp would accept it, compressing every
    # frame per socket. Uncompressed frames are the same bytes for every socket (the room
    # builds each once) and aiohttp writes its own frames synchronously, never interleaved.
    ws = await _upgrade(request, settings.websocket, compress=False)
    transport = request.transport
    if transport is None:  # the peer left during the upgrade
        return ws
    _bound_send_buffer(request, settings.websocket.send_buffer_bytes)
    conn = RoomConnection(
        ws, transport, hub, screening_id, request.get(keys.USER), ROOM, settings=settings,
        jwt_secret=app[keys.JWT_SECRET], auth_pending=auth_pending, budget=app[keys.BUDGET],
        revocations=app[keys.REVOCATIONS],
    )
    conn.gate = app[keys.GATE]
    with _tracked(app, ws, "room"):
        await conn.run()
    return ws


async def line_socket(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to a screening's waiting room: the line's frames and join/admission replies only."""
    app = request.app
    settings = app[keys.SETTINGS]
    check_socket_origin(request, "the waiting room")
    screening_id = int(request.match_info["id"])
    if screening_id not in app[keys.LINES].waiting:  # a line with sockets here exists: no Redis call per arrival
        async with app[keys.ROOMS].redis_slot:
            await app[keys.LINE].conf(screening_id)  # NotFound -> 404 before the upgrade
    # No heartbeat timers: the line's frame goes to every waiting socket each tick, so a dead
    # peer is found by the writes (server/ws/line.py); a small max_msg_size (commands are tiny).
    ws = await _upgrade(request, settings.websocket, compress=False, heartbeat=None, max_msg_size=LINE_MAX_MESSAGE)
    transport = request.transport
    if transport is None:
        return ws
    conn = LineConnection(ws, transport, app[keys.LINES], screening_id, request.get(keys.USER),
                          settings.websocket, app[keys.JWT_SECRET])
    # The socket's whole life runs in this frame and Session.read's: no run() or context manager
    # of its own stays on the stack of each waiting socket (issue 12's memory probe).
    gauge = _track(app, ws, "line")
    conn.arrive()
    try:
        await conn.read()
    finally:
        await conn.depart()
        _untrack(app, ws, gauge)
    return ws


async def dashboard_socket(request: web.Request) -> web.StreamResponse:
    """GET /ws/dashboard: the staff occupancy feed."""
    app = request.app
    limits = app[keys.SETTINGS].websocket
    check_socket_origin(request, "the dashboard")
    asked = filter_from_query(request.query)
    flt = await app[keys.DASHBOARD].resolve(asked)  # the server decides "today"
    ws = await _upgrade(request, limits, compress=True)
    with _tracked(app, ws, "dashboard"):
        user, auth_id = request.get(keys.USER), None
        if user is None:
            user, auth_id = await first_auth(ws, app[keys.JWT_SECRET], limits.auth_timeout_seconds, app[keys.CLOCK])
            if user is None:
                return ws
        if not user.has_role("staff"):
            await refuse(ws, auth_id, p.FORBIDDEN, "the feed is for staff and admins", p.CLOSE_FORBIDDEN)
            return ws
        if auth_id is not None:
            await ws.send_frame(p.result_frame(auth_id, {"role": user.role}), WSMsgType.TEXT)
        conn = StaffConnection(ws, user, STAFF, app[keys.DASHBOARD], flt, limits, app[keys.REVOCATIONS],
                               last_id=auth_id or 0, budget=app[keys.BUDGET], follows_today=asked.first is None)
        await conn.run()
    return ws


def filter_from_query(query: Mapping[str, str]) -> DayRange:
    """The socket URL's ?cinema_id=&date= (or from/to) as a DayRange; 400 before the upgrade."""
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
    return DayRange.parse(**args)


async def _upgrade(request: web.Request, limits: WebSocketSettings, *, compress: bool,
                   heartbeat: float | None | bool = True, max_msg_size: int = 0) -> web.WebSocketResponse:
    """The upgraded socket, with the configured heartbeat and message size unless given (400 if not an upgrade)."""
    ws = web.WebSocketResponse(
        heartbeat=limits.heartbeat_seconds if heartbeat is True else heartbeat,
        max_msg_size=max_msg_size or limits.max_message_bytes,
        timeout=CLOSE_SECONDS,  # how long a close waits for the peer's close frame
        compress=compress,
    )
    if not ws.can_prepare(request).ok:
        raise InvalidInput("this URL speaks WebSocket only")
    await ws.prepare(request)
    ws.headers.clear()  # the 101's headers are on the wire: ~0.4 KB per open socket back (issue 12)
    return ws


class _tracked:
    """Keep the socket in app[keys.SOCKETS] while it is served (shutdown closes them all), and counted."""

    __slots__ = ("app", "ws", "kind", "gauge")

    def __init__(self, app: web.Application, ws: web.WebSocketResponse, kind: str) -> None:
        self.app, self.ws, self.kind = app, ws, kind

    def __enter__(self) -> None:
        self.gauge = _track(self.app, self.ws, self.kind)

    def __exit__(self, *exc: object) -> None:
        _untrack(self.app, self.ws, self.gauge)


def _track(app: web.Application, ws: web.WebSocketResponse, kind: str) -> Any:
    """Put an open socket in app[keys.SOCKETS] and count it; its kind's gauge, for _untrack."""
    gauge = _OPEN.get(kind)
    if gauge is None:
        gauge = _OPEN[kind] = SOCKETS_OPEN.labels(kind)
    app[keys.SOCKETS].add(ws)
    gauge.inc()
    return gauge


def _untrack(app: web.Application, ws: web.WebSocketResponse, gauge: Any) -> None:
    """The socket is done: out of app[keys.SOCKETS], counted down."""
    app[keys.SOCKETS].discard(ws)
    gauge.dec()


def _bound_send_buffer(request: web.Request, size: int) -> None:
    """Shrink the kernel and transport buffers so a stalled peer fills its frame queue soon."""
    transport = request.transport
    if not size or transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    transport.set_write_buffer_limits(high=size)


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: close every open socket with GOING_AWAY so clients reconnect elsewhere."""
    sockets = list(app[keys.SOCKETS])
    # Bounded: a peer that stopped reading must not hold up the shutdown.
    await asyncio.gather(
        *(close_within(ws, p.CLOSE_GOING_AWAY, "server shutdown") for ws in sockets), return_exceptions=True
    )
