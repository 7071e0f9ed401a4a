"""The baseline for room fan-out: a bare aiohttp server that broadcasts to every socket in a loop.

Run as a process: python -m bench.bare_broadcast PORT. A client that sends the text "pub" makes
the server send {"type": "events", "events": [{"ts": <ms>, "v": n}]} to every connected socket:
encoded once, then `await ws.send_str` in a loop over the sockets (the chat-demo pattern).
"""
from __future__ import annotations

import sys
import time
import weakref

import orjson
from aiohttp import WSMsgType, web

SOCKETS: web.AppKey[weakref.WeakSet] = web.AppKey("sockets", weakref.WeakSet)
COUNTER: web.AppKey[int] = web.AppKey("counter", int)


async def ws_handler(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT and msg.data == "pub":
            await broadcast(request.app)
        elif msg.type == WSMsgType.ERROR:
            break
    return ws


async def broadcast(app: web.Application) -> None:
    app[COUNTER] += 1
    frame = orjson.dumps({"type": "events", "events": [{"ts": int(time.time() * 1000), "v": app[COUNTER]}]}).decode()
    for ws in list(app[SOCKETS]):
        if not ws.closed:
            await ws.send_str(frame)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    """Serve on the given port (open-file limit raised like the Houseful bench server's)."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    app = web.Application()
    app[SOCKETS] = weakref.WeakSet()
    app[COUNTER] = 0
    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/api/health", health)
    import uvloop

    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
