"""Memory per idle socket: N idle WebSockets on one server process, its RSS before and after.

The same client opens the sockets against a Houseful worker (a screening's room: each socket
gets hello and a snapshot, then idles) and against the bare aiohttp server (upgrade only). All
sockets are on loopback, bounded in count and time, and closed at the end.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench import harness

OPEN_CONCURRENCY = 256
OPEN_TIMEOUT = 180.0


async def idle_sockets(ws_url: str, count: int, pid: int, first_frame: bool) -> dict[str, Any]:
    """Open `count` sockets (waiting for a first frame if the server sends one); RSS per socket in KiB."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        probe = await session.ws_connect(ws_url, heartbeat=None, max_msg_size=0)
        if first_frame:
            await probe.receive(timeout=30)
        await asyncio.sleep(1.0)
        before = harness.rss_kib(pid)
        slots = asyncio.Semaphore(OPEN_CONCURRENCY)
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        readers: list[asyncio.Task[None]] = []
        failed = 0

        async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for _ in ws:  # reading answers the server's heartbeat pings, as a live client would
                pass

        async def one() -> None:
            nonlocal failed
            async with slots:
                try:
                    ws = await session.ws_connect(ws_url, heartbeat=None, max_msg_size=0)
                    if first_frame:
                        # hello, then the snapshot: the socket is idle once both arrived
                        for _ in range(2):
                            await ws.receive(timeout=60)
                    sockets.append(ws)
                    readers.append(asyncio.create_task(drain(ws)))
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    failed += 1

        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), OPEN_TIMEOUT)
        opened_in = time.monotonic() - started
        await asyncio.sleep(2.0)
        after = harness.rss_kib(pid)
        held = len(sockets)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await probe.close()
    return {"sockets": held, "failed": failed, "rss_before_kib": before, "rss_after_kib": after,
            "kib_per_socket": round((after - before) / held, 2) if held else None,
            "open_seconds": round(opened_in, 1)}
