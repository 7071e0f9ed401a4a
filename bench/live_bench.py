"""Benchmarks of the live seats: holds through the server vs the Lua scripts on Redis directly,
and room fan-out into a 1,000-socket room vs a bare aiohttp broadcast loop.

Each pair is driven the same way (same concurrency, same closed loop, same watcher client) so
the ratio says what the server's layers cost.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import orjson
from hdrh.histogram import HdrHistogram

from bench import harness
from loadtest.client import Moviegoer, SeatMap
from loadtest.metrics import Metrics, percentiles_ms
from server.clock import SystemClock
from server.config import Settings
from server.live.holds import HoldStore
from server.queries import load_queries
from server.redis_client import create_redis


def spaced_seats(seat_map: dict[str, Any]) -> list[int]:
    """Seats that can all be held at once without breaking the orphan rule (two free between, none at ends)."""
    out = []
    for seg in SeatMap(seat_map).segments:
        out += [seg[i] for i in range(2, len(seg) - 2, 3)]
    return out


@dataclass
class Loop:
    """A closed loop's results: hold latencies and how many holds in how long."""

    latency: HdrHistogram = field(default_factory=harness.histogram)
    holds: int = 0
    errors: int = 0
    seconds: float = 0.0
    refused: Counter[str] = field(default_factory=Counter)  # why holds failed (an all-refused loop is a broken bench)

    def figures(self) -> dict[str, Any]:
        """Percentiles (ms) and holds/s."""
        return {**harness.percentiles_ms(self.latency), "holds_per_s": round(self.holds / self.seconds, 1),
                "errors": self.errors, "refused": dict(self.refused)}


async def _cycle(hold: Any, release: Any, seconds: float, loop: Loop) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        ok = await hold()
        loop.latency.record_value(max(1, int((time.perf_counter() - started) * 1e6)))
        if ok:
            loop.holds += 1
            await release()
        else:  # nothing held, nothing to release (HoldStore.release would refuse: NotHeld)
            loop.errors += 1


async def holds_through_server(target: str, screening_id: int, seats: list[int], tokens: list[str],
                               seconds: float) -> Loop:
    """One socket per customer, each holding and releasing its own seat as fast as acks come."""
    loop = Loop()
    scratch = Metrics()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        clients = [Moviegoer(session, target, screening_id, scratch, None, token=t, sampled=False) for t in tokens]
        assert all(await asyncio.gather(*(c.connect() for c in clients))), "a bench socket did not connect"

        async def one(client: Moviegoer, seat: int) -> None:
            async def hold() -> bool:
                reply = await client.command("hold", seats=[seat])
                if not reply["success"]:
                    loop.refused[str((reply.get("error") or {}).get("code"))] += 1
                return bool(reply["success"])

            async def release() -> None:
                await client.command("release", seats=[seat])

            await _cycle(hold, release, seconds, loop)

        started = time.monotonic()
        await asyncio.gather(*(one(c, s) for c, s in zip(clients, seats)))
        loop.seconds = time.monotonic() - started
        await asyncio.gather(*(c.close() for c in clients))
    return loop


async def holds_direct(settings: Settings, secret: str, screening_id: int, seats: list[int], owners: list[str],
                       seconds: float) -> Loop:
    """The same closed loop on HoldStore (the same Lua scripts by SHA), no server in between."""
    loop = Loop()
    redis = create_redis(settings.replace(redis={"max_connections": max(len(owners) + 4, 8)}))
    pool = await asyncpg.create_pool(settings.database.url, min_size=1, max_size=2)
    store = HoldStore(redis, pool, settings, secret, load_queries().live, clock=SystemClock())
    try:
        await store.load_scripts()
        await store.warm(screening_id)

        async def one(owner: str, seat: int) -> None:
            async def hold() -> bool:
                try:
                    await store.hold(screening_id, owner, [seat])
                    return True
                except Exception as exc:  # noqa: BLE001 - a refused hold is counted, like the server's error replies
                    loop.refused[type(exc).__name__] += 1
                    return False

            async def release() -> None:
                await store.release(screening_id, owner, [seat])

            await _cycle(hold, release, seconds, loop)

        started = time.monotonic()
        await asyncio.gather(*(one(o, s) for o, s in zip(owners, seats)))
        loop.seconds = time.monotonic() - started
    finally:
        await pool.close()
        await redis.aclose()
    return loop


@dataclass
class Fanout:
    """What a room of watchers received."""

    frames: int = 0
    events: int = 0
    lag: HdrHistogram = field(default_factory=harness.histogram)
    seconds: float = 0.0
    writes: int = 0

    def figures(self) -> dict[str, Any]:
        """Frames/s and events/s delivered (summed over watchers), writes/s and lag percentiles."""
        return {"frames_per_s": round(self.frames / self.seconds), "events_per_s": round(self.events / self.seconds),
                "writes_per_s": round(self.writes / self.seconds, 1), "lag": percentiles_ms(self.lag)}


async def _watch(ws: aiohttp.ClientWebSocketResponse, out: Fanout, measuring: asyncio.Event) -> None:
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT or not measuring.is_set():
            continue
        frame = orjson.loads(msg.data)
        if frame.get("type") != "events":
            continue
        now = time.time() * 1000
        out.frames += 1
        for event in frame["events"]:
            out.events += 1
            out.lag.record_value(max(1, min(int((now - event["ts"]) * 1000), 100_000_000)))


async def _room(session: aiohttp.ClientSession, url: str, n: int) -> list[aiohttp.ClientWebSocketResponse]:
    slots = asyncio.Semaphore(200)

    async def one() -> aiohttp.ClientWebSocketResponse:
        async with slots:
            return await session.ws_connect(url, heartbeat=None, max_msg_size=0)

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def fanout(ws_url: str, watchers: int, seconds: float, write: Any, rate: float | None = None) -> Fanout:
    """`watchers` sockets on ws_url; `write()` runs for `seconds` while they measure.

    rate=None: a closed loop (each write as soon as the last was acknowledged) — throughput.
    rate=R: R writes per second on a fixed schedule, the same load for every server — latency.
    """
    out = Fanout()
    measuring = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = await _room(session, ws_url, watchers)
        readers = [asyncio.create_task(_watch(ws, out, measuring)) for ws in sockets]
        await asyncio.sleep(1.0)  # snapshots delivered; the room is quiet
        measuring.set()
        started = time.monotonic()
        end = started + seconds
        while time.monotonic() < end:
            await write()
            out.writes += 1
            if rate:
                await asyncio.sleep(max(0.0, started + out.writes / rate - time.monotonic()))
        await asyncio.sleep(0.3)  # the last tick's frames arrive
        out.seconds = time.monotonic() - started
        measuring.clear()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return out


async def fanout_houseful(target: str, screening_id: int, seat: int, token: str, watchers: int,
                          seconds: float, rate: float | None = None) -> Fanout:
    """Watchers in a screening's room; one writer holds and releases one seat, each step awaiting its ack."""
    async with aiohttp.ClientSession() as session:
        writer = Moviegoer(session, target, screening_id, Metrics(), None, token=token, sampled=False)
        assert await writer.connect()
        held = False

        async def write() -> None:
            nonlocal held
            reply = await writer.command("release" if held else "hold", seats=[seat])
            held = not held if reply["success"] else held

        ws_url = target.replace("http", "ws", 1) + f"/ws/screenings/{screening_id}"
        try:
            return await fanout(ws_url, watchers, seconds, write, rate)
        finally:
            if held:
                await writer.command("release", seats=[seat])
            await writer.close()


async def fanout_bare(base: str, watchers: int, seconds: float, rate: float | None = None) -> Fanout:
    """The same room on bench/bare_broadcast.py; the publisher waits for its own copy of each broadcast."""
    ws_url = base.replace("http", "ws", 1) + "/ws"
    async with aiohttp.ClientSession() as session:
        publisher = await session.ws_connect(ws_url, heartbeat=None)

        async def write() -> None:
            await publisher.send_str("pub")
            while True:
                msg = await publisher.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    raise ConnectionError("publisher socket closed")
                if '"events"' in msg.data:
                    return

        try:
            return await fanout(ws_url, watchers, seconds, write, rate)
        finally:
            await publisher.close()
