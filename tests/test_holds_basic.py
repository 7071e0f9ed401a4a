"""Holding seats through HoldStore: atomicity, races, ownership, versions, workers, bad input."""
from __future__ import annotations

import asyncio
import random

import pytest

from server.errors import DomainError, InvalidInput, NotFound
from server.live.errors import Houseful, LimitExceeded, NotHeld, SeatTaken, UnknownSeat, seats_of
from tests.support.holds import dump, listen, make_store, store  # noqa: F401


async def test_hold_is_all_or_nothing(store, make_screening, redis) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A3"]])
    with pytest.raises(SeatTaken) as caught:
        await store.hold(sid, "u2", [seat["A1"], seat["A2"], seat["A3"]])
    assert seats_of(caught.value) == [seat["A3"]]
    snap = await store.snapshot(sid, "u2")
    assert snap["held"] == [seat["A3"]] and snap["mine"] == []
    assert (await store.hold(sid, "u2", [seat["A1"], seat["A2"]]))["seats"] == [seat["A1"], seat["A2"]]


async def test_200_owners_racing_for_10_seats(store, make_screening) -> None:
    s = await make_screening(rows=1, per_row=10, orphan_rule=False)
    sid = s["screening_id"]
    ids = list(s["seats"].values())
    await store.warm(sid)
    rnd = random.Random(7)
    wanted = {f"u{k}": ([ids[k % 10]] if k < 100 else rnd.sample(ids, rnd.randint(2, 3))) for k in range(200)}

    async def attempt(owner: str) -> tuple[str, object]:
        try:
            return owner, await store.hold(sid, owner, wanted[owner])
        except (SeatTaken, Houseful) as exc:
            return owner, exc

    results = await asyncio.gather(*(attempt(o) for o in wanted))
    winners = {o: r["seats"] for o, r in results if isinstance(r, dict)}
    held = [seat for seats in winners.values() for seat in seats]
    assert sorted(held) == sorted(ids)  # every seat held, and by exactly one owner
    for owner, seats in winners.items():
        assert sorted(seats) == sorted(wanted[owner])
    for owner, r in results:
        if isinstance(r, SeatTaken):
            assert set(seats_of(r)) <= set(wanted[owner]) and seats_of(r)
    snap = await store.snapshot(sid, None)
    assert sorted(snap["held"]) == sorted(ids) and snap["houseful"]
    assert snap["version"] == len(winners)  # one version per successful hold


async def test_release_only_own_seats(store, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    await store.hold(sid, "u2", [seat["A5"]])
    with pytest.raises(NotHeld) as caught:
        await store.release(sid, "u2", [seat["A1"], seat["A5"]])
    assert seats_of(caught.value) == [seat["A1"]]
    assert sorted((await store.snapshot(sid, None))["held"]) == [seat["A1"], seat["A2"], seat["A5"]]
    assert (await store.release(sid, "u1", [seat["A2"]]))["seats"] == [seat["A2"]]
    assert (await store.release(sid, "u1", None))["seats"] == [seat["A1"]]
    assert (await store.release(sid, "u1", None))["seats"] == []  # nothing left: no change
    assert (await store.my_holds(sid, "u2")) ["seats"] == [seat["A5"]]


async def test_every_change_is_one_event_with_the_next_version(store, make_screening, redis) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.warm(sid)
    async with listen(store, redis, sid) as events:
        steps = [
            ("held", lambda: store.hold(sid, "u1", [seat["A1"], seat["A2"]])),
            ("held", lambda: store.hold_best(sid, "u2", 2)),
            ("released", lambda: store.release(sid, "u1", [seat["A2"]])),
            ("held", lambda: store.hold(sid, "u1", [seat["A4"]])),
            ("sold", lambda: store.mark_sold(sid, "u1", [seat["A1"]])),
            ("freed", lambda: store.free_sold(sid, [seat["A1"]])),
            ("released", lambda: store.release(sid, "u2", None)),
        ]
        for n, (kind, step) in enumerate(steps, start=1):
            result = await step()
            event = await events.next()
            assert event["type"] == kind and event["v"] == n
            assert (result if isinstance(result, int) else result["version"]) == n
            assert isinstance(event["ts"], int) and event["houseful"] is False
        await store.extend(sid, "u1")  # extending changes no seat: no event
        with pytest.raises(SeatTaken):
            await store.hold(sid, "u3", [seat["A4"]])  # a refused command: no event
        assert await events.quiet()
    assert (await store.counts(sid))["version"] == len(steps)


async def test_events_name_the_owner_by_an_opaque_tag(store, make_screening, redis) -> None:
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.warm(sid)
    async with listen(store, redis, sid) as events:
        await store.hold(sid, "u1", [seat["B4"], seat["B5"]])
        event = await events.next()
    tag = store.owner_tag(sid, "u1")
    assert event["by"] == tag and "u1" not in tag and len(tag) == 10
    assert event["seats"] == [seat["B4"], seat["B5"]]
    assert store.owner_tag(sid + 1, "u1") != tag
    assert (await store.snapshot(sid, "u1"))["me"] == tag


async def test_a_second_worker_sees_the_same_state(make_store, make_screening) -> None:
    first, second = await make_store(), await make_store()
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    held = await first.hold(sid, "u1", [seat["C5"], seat["C6"]])
    snap = await second.snapshot(sid, "u1")
    assert snap["mine"] == [seat["C5"], seat["C6"]] and snap["deadline"] == held["deadline"]
    with pytest.raises(SeatTaken):
        await second.hold(sid, "u2", [seat["C6"]])
    await second.release(sid, "u1", None)
    assert (await first.snapshot(sid, None))["held"] == []


async def test_per_customer_limit(make_store, make_screening) -> None:
    store = await make_store(holds={"max_seats_per_customer": 3})
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    with pytest.raises(LimitExceeded):
        await store.hold(sid, "u1", [seat["A5"], seat["A6"]])
    with pytest.raises(LimitExceeded):
        await store.hold(sid, "u1", [seat["B1"], seat["B2"], seat["B3"], seat["B4"]])
    with pytest.raises(LimitExceeded):
        await store.hold_best(sid, "u1", 2)
    await store.hold(sid, "u1", [seat["A5"]])
    await store.hold(sid, "u1", [seat["A5"]])  # already mine: not counted twice
    with pytest.raises(LimitExceeded):
        await store.hold_best(sid, "u1", 1)
    await store.hold(sid, "u2", [seat["B1"], seat["B2"], seat["B3"]])  # another customer's own limit
    assert len((await store.my_holds(sid, "u1"))["seats"]) == 3


async def test_bad_input_is_refused_and_changes_nothing(store, make_screening, redis, settings) -> None:
    s = await make_screening()
    other = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    before = await dump(redis, settings, sid)
    bad = [
        ("invalid", store.hold(sid, "u2", [])),
        ("invalid", store.hold(sid, "u2", None)),
        ("invalid", store.hold(sid, "u2", ["7"])),
        ("invalid", store.hold(sid, "u2", [True])),
        ("invalid", store.hold(sid, "u2", [0])),
        ("invalid", store.hold(sid, "u2", [-3])),
        ("invalid", store.hold(sid, "u2", [2**60])),
        ("invalid", store.hold(sid, "", [seat["B1"]])),
        ("invalid", store.hold(sid, "u2|x", [seat["B1"]])),
        ("limit_exceeded", store.hold(sid, "u2", list(range(1, 5000)))),
        ("unknown_seat", store.hold(sid, "u2", [seat["B1"], 9_999_999])),
        ("unknown_seat", store.hold(sid, "u2", [other["seats"]["A5"]])),
        ("invalid", store.hold_best(sid, "u2", 0)),
        ("invalid", store.hold_best(sid, "u2", -2)),
        ("invalid", store.hold_best(sid, "u2", "2")),
        ("invalid", store.hold_best(sid, "u2", 2.5)),
        ("limit_exceeded", store.hold_best(sid, "u2", 10**9)),
        ("invalid", store.hold_best(sid, "u2", 2, kind="balcony")),
        ("not_held", store.release(sid, "u2", [seat["A1"]])),
        ("invalid", store.release(sid, "u2", [])),
        ("unknown_seat", store.release(sid, "u1", [other["seats"]["A1"]])),
        ("not_held", store.extend(sid, "u2")),
        ("seat_taken", store.hold(sid, "u2", [seat["A2"], seat["A3"]])),
        ("invalid", store.mark_sold(sid, "u2", [])),
        ("unknown_seat", store.free_sold(sid, [9_999_999])),
        ("not_found", store.hold(0, "u2", [seat["B1"]])),
        ("not_found", store.snapshot(10**12, None)),
    ]
    async with listen(store, redis, sid) as events:
        for code, call in bad:
            with pytest.raises(DomainError) as caught:
                await call
            assert caught.value.code == code, (code, caught.value)
        assert await events.quiet()
    assert await dump(redis, settings, sid) == before
    assert isinstance(InvalidInput("x"), DomainError) and NotFound.code == "not_found"
    assert UnknownSeat.status == 400


async def test_the_app_runs_a_hold_store_with_its_sweeper(client, make_screening) -> None:
    from server import keys
    from server.live.holds import HoldStore

    holds = client.app[keys.HOLDS]
    assert isinstance(holds, HoldStore)
    s = await make_screening()
    got = await holds.hold(s["screening_id"], "u1", [s["seats"]["A1"], s["seats"]["A2"]])
    assert got["version"] == 1 and s["screening_id"] in holds.sweep_targets()
