"""Hold expiry (sweeper and lazy), extend and its cap, and a worker dying while holding."""
from __future__ import annotations

import asyncio

import pytest

from server.live.errors import ExtendLimit, NotHeld
from server.live.sweeper import run_sweeper
from tests.support.clocks import at_any_hour
from tests.support.holds import listen, make_store, store  # noqa: F401


async def test_expiry_is_announced_by_the_sweeper(make_store, make_screening, redis) -> None:
    store = await make_store(holds={"ttl_seconds": 1})
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.warm(sid)
    store.watch(sid)
    sweeper = asyncio.create_task(run_sweeper(store, 50))
    try:
        async with listen(store, redis, sid) as events:
            held = await store.hold(sid, "u1", [seat["B4"], seat["B5"]])
            assert (await events.next())["type"] == "held"
            expired = await events.next(timeout=5)
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
    assert expired["type"] == "expired" and expired["seats"] == [seat["B4"], seat["B5"]]
    assert expired["v"] == held["version"] + 1 and expired["ts"] >= held["deadline"]
    assert expired["by"] == store.owner_tag(sid, "u1")
    snap = await store.snapshot(sid, "u1")
    assert snap["held"] == [] and snap["mine"] == [] and snap["deadline"] is None


@at_any_hour
async def test_a_hold_expires_when_the_clock_passes_its_deadline(store, make_screening, redis, clock) -> None:
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    held = await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    assert held["deadline"] == pytest.approx(clock.ms() + store.settings.holds.ttl_seconds * 1000, abs=2_000)
    clock.advance(store.settings.holds.ttl_seconds - 5)  # not yet
    assert await store.sweep(sid) == []
    async with listen(store, redis, sid) as events:
        clock.advance(10)  # past the deadline: no waiting, the clock decides
        assert await store.sweep(sid) == [seat["A1"], seat["A2"]]
        expired = await events.next()
    assert expired["type"] == "expired" and expired["ts"] >= held["deadline"]
    assert (await store.snapshot(sid, "u1"))["mine"] == []


async def test_a_dead_workers_hold_is_expired_by_another(make_store, make_screening, redis) -> None:
    dying = await make_store(holds={"ttl_seconds": 1})
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await dying.hold(sid, "u1", [seat["C1"], seat["C2"]])
    await dying.redis.aclose()  # the worker is gone; it will never sweep
    survivor = await make_store()
    survivor.watch(sid)
    async with listen(survivor, redis, sid) as events:  # listening before anyone sweeps
        sweeper = asyncio.create_task(run_sweeper(survivor, 50))
        try:
            event = await events.next(timeout=5)
        finally:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
    assert event["type"] == "expired" and event["seats"] == [seat["C1"], seat["C2"]]


async def test_expiry_is_lazy_too(store, make_screening, redis) -> None:
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    # Make the deadline pass without waiting: nobody has swept, yet the next command sees it.
    await redis.zadd(store.keys_of(sid)[5], {"u1": 1})
    async with listen(store, redis, sid) as events:
        got = await store.hold(sid, "u2", [seat["A1"], seat["A2"]])
        first, second = await events.next(), await events.next()
    assert (first["type"], first["seats"]) == ("expired", [seat["A1"], seat["A2"]])
    assert (second["type"], second["v"]) == ("held", first["v"] + 1) and got["version"] == second["v"]
    assert await store.sweep(sid) == []  # nothing left to expire: sweeping again is harmless


async def test_sweeping_twice_at_once_expires_once(make_store, make_screening, redis) -> None:
    one, two = await make_store(), await make_store()
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await one.hold(sid, "u1", [seat["A1"], seat["A2"]])
    await one.hold(sid, "u2", [seat["D1"], seat["D2"]])
    await redis.zadd(one.keys_of(sid)[5], {"u1": 1, "u2": 1})
    results = await asyncio.gather(*(w.sweep(sid) for w in (one, two, one, two)))
    assert sorted(seat for r in results for seat in r) == sorted([seat["A1"], seat["A2"], seat["D1"], seat["D2"]])
    assert (await one.counts(sid))["version"] == 4  # two holds, two expiries


async def test_extend_moves_the_deadline(make_store, make_screening) -> None:
    store = await make_store(holds={"ttl_seconds": 60, "max_total_seconds": 600})
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    with pytest.raises(NotHeld):
        await store.extend(sid, "u1")
    held = await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    extended = await store.extend(sid, "u1")
    assert extended["seats"] == [seat["A1"], seat["A2"]]
    assert held["deadline"] <= extended["deadline"] <= held["deadline"] + 60_000
    assert (await store.my_holds(sid, "u1"))["deadline"] == extended["deadline"]


async def test_extend_stops_at_the_cap(make_store, make_screening) -> None:
    store = await make_store(holds={"ttl_seconds": 30, "max_total_seconds": 30})
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    held = await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    with pytest.raises(ExtendLimit):
        await store.extend(sid, "u1")
    # More seats later do not buy more time either: the cap counts from the first hold.
    more = await store.hold(sid, "u1", [seat["A3"]])
    assert more["deadline"] == held["deadline"]
    with pytest.raises(ExtendLimit):
        await store.extend(sid, "u1")
