"""The edge of the rooms: the /ws/screenings/{id} handler and the hub's cleanup context."""
from __future__ import annotations

import asyncio
import socket
import weakref
from typing import AsyncIterator

from aiohttp import web

from server import keys
from server.errors import Forbidden, InvalidInput
from server.live import protocol as p
from server.live.connection import Connection, close_within
from server.live.rooms import RoomHub
from server.middleware import origin_allowed


async def screening_room(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to a screening's room: hello, snapshot, then deltas and command replies."""
    app = request.app
    settings = app[keys.SETTINGS]
    origin = request.headers.get("Origin")
    # Browsers always send Origin; other clients may leave it out (they carry no ambient cookies).
    if origin is not None and not origin_allowed(request, origin):
        raise Forbidden("this origin may not open the seat map")
    screening_id = int(request.match_info["id"])
    hub: RoomHub = app[keys.ROOMS]
    if not hub.is_open(screening_id):  # an open room means the screening exists and is warm
        async with hub.redis_slot:
            await hub.holds.warm(screening_id)  # NotFound -> 404 before the upgrade
    ws = web.WebSocketResponse(
        heartbeat=settings.websocket.heartbeat_seconds,
        max_msg_size=settings.websocket.max_message_bytes,
        timeout=5.0,  # how long a close waits for the peer's close frame
        # No permessage-deflate: browsers offer it and aiohttp would accept it, compressing every
        # frame per socket. Uncompressed frames are the same bytes for every socket (the room
        # builds each once) and aiohttp writes its own frames synchronously, never interleaved.
        compress=False,
    )
    if not ws.can_prepare(request).ok:
        raise InvalidInput("this URL speaks WebSocket only")
    auth_pending = request.query.get("auth", "") in ("1", "true")
    await ws.prepare(request)
    transport = request.transport
    if transport is None:  # the peer left during the upgrade
        return ws
    _bound_send_buffer(request, settings.websocket.send_buffer_bytes)
    sockets = app[keys.SOCKETS]
    sockets.add(ws)
    conn = Connection(
        ws, transport, hub, screening_id, request.get(keys.USER), settings=settings,
        jwt_secret=app[keys.JWT_SECRET], auth_pending=auth_pending,
    )
    try:
        await conn.run()
    finally:
        sockets.discard(ws)
    return ws


def _bound_send_buffer(request: web.Request, size: int) -> None:
    """Shrink the kernel and transport buffers so a stalled peer fills its frame queue soon."""
    transport = request.transport
    if not size or transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    transport.set_write_buffer_limits(high=size)


async def rooms_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: this worker's RoomHub (after holds_context: it uses app[keys.HOLDS])."""
    hub = RoomHub(app[keys.REDIS], app[keys.HOLDS], app[keys.SETTINGS])
    app[keys.ROOMS] = hub
    if keys.SOCKETS not in app:
        app[keys.SOCKETS] = weakref.WeakSet()
    await hub.start()
    yield
    await hub.close()


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: close every open socket with GOING_AWAY so clients reconnect elsewhere."""
    sockets = list(app.get(keys.SOCKETS, ()))
    # Bounded: a peer that stopped reading must not hold up the shutdown.
    await asyncio.gather(
        *(close_within(ws, p.CLOSE_GOING_AWAY, "server shutdown") for ws in sockets), return_exceptions=True
    )
