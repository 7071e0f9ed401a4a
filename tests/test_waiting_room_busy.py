"""A server that cannot keep up slows every line to a tenth of its rate, and only while it cannot.

Real server, Redis and PostgreSQL; the busy loop is real too: a task that holds the test's event
loop (the server's) for 0.1 s at every turn, as a worker drowning in a rush of arrivals does.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from server import keys
from server.keyspace import KeySpace
from server.live.busy import FORGET_MS, BusyServers, LoopLag
from tests.test_waiting_room import FAST, frame, line, policy


async def test_a_server_that_cannot_keep_up_slows_the_line_which_still_moves_then_recovers(
        make_client: Any, make_user: Any, make_screening: Any, clock: Any) -> None:
    client = await make_client(waiting_room={**FAST, "busy_lag_ms": 50})
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin = await make_user("admin")
    await policy(client, admin, sid, mode="always", admit_per_second=20, max_active=100, paused=True)
    tabs = [await line(client, sid, await make_user()) for _ in range(30)]
    for tab in tabs:
        await tab.ok("join")
    tab = tabs[-1]
    await tab.wait_for(frame(lambda m: not m["busy"] and m["rate"] == 20))

    stop = asyncio.Event()

    async def drowning() -> None:  # every turn of the loop takes 0.1 s: each timer fires ~0.1 s late
        while not stop.is_set():
            time.sleep(0.1)
            await asyncio.sleep(0)

    hog = asyncio.create_task(drowning())
    try:
        slowed = await tab.wait_for(frame(lambda m: m["busy"]))
        assert slowed["rate"] == 2 and slowed["admitted"] == 0  # a tenth of 20
        await policy(client, admin, sid, paused=False)
        clock.advance(2)  # two seconds: at the full rate a tick would call 20 numbers
        moved = await tab.wait_for(frame(lambda m: m["busy"] and m["admitted"] > 0))
        assert moved["admitted"] <= 5  # slowed, but moving
    finally:
        stop.set()
        await hog
    mark = len(tab.messages)
    again = await tab.wait_for(frame(lambda m: not m["busy"]), start=mark)
    assert again["rate"] == 20 and again["admitted"] >= moved["admitted"]
    for tab in tabs:
        await tab.close()


async def test_any_workers_fresh_lag_over_the_limit_is_busy_for_all_a_stopped_ones_is_not(
        settings: Any, redis: Any, clock: Any) -> None:
    key = KeySpace(settings.redis.key_prefix).key("workers", "lag")
    drowning, calm = (BusyServers(redis, key, clock, limit_ms=50) for _ in range(2))
    assert not await calm.exchange(3)
    assert await drowning.exchange(180)
    assert await calm.exchange(2)  # the other worker's figure: busy for everyone
    clock.advance(6)  # the drowning worker stopped reporting (it stopped): its figure goes stale
    assert not await calm.exchange(2)
    clock.advance(FORGET_MS / 1000)  # ... and is forgotten
    await calm.exchange(2)
    assert list(await redis.hgetall(key)) == [calm.worker.encode()]


def test_one_late_timer_is_no_busy_loop_but_a_loop_that_is_always_late_is() -> None:
    lag = LoopLag()
    for i in range(49):
        lag.add(i * 0.02, 0.001)
    lag.add(0.98, 0.4)  # a garbage collection: one sample
    assert lag.typical() == 0.001
    for i in range(50, 100):
        lag.add(i * 0.02, 0.1)  # a second of turns that all run 0.1 s late
    assert lag.typical() == 0.1


async def test_every_worker_reports_its_lag_and_takes_it_out_when_it_stops(make_client: Any, redis: Any,
                                                                            settings: Any) -> None:
    client = await make_client(waiting_room={**FAST, "busy_lag_ms": 50})
    busy = client.server.app[keys.BUSY]
    key = KeySpace(settings.redis.key_prefix).key("workers", "lag")
    async with asyncio.timeout(10):
        while not await redis.hexists(key, busy.worker):
            await asyncio.sleep(0.05)  # polled: the report is a Redis write with no event to wait on
    await client.close()
    assert not await redis.hexists(key, busy.worker)
