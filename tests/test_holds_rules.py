"""Seat rules: orphans, best available, wheelchair and companion places, houseful, closed screenings."""
from __future__ import annotations

import datetime as dt

import pytest

from server.live.errors import (
    CompanionOnly, Houseful, NoAdjacentSeats, OrphanSeat, ScreeningClosed, SeatBlocked, WheelchairOnly,
    seats_of,
)
from tests.support.clocks import at_any_hour
from tests.support.holds import listen, make_store, store  # noqa: F401


async def test_orphan_in_the_middle_of_a_row(store, make_screening) -> None:
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A3"], seat["A4"]])
    with pytest.raises(OrphanSeat) as caught:
        await store.hold(sid, "u2", [seat["A6"], seat["A7"]])
    assert seats_of(caught.value) == [seat["A5"]]
    await store.hold(sid, "u2", [seat["A5"], seat["A6"]])  # filling the gap is fine


async def test_orphan_against_the_row_end(store, make_screening) -> None:
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    with pytest.raises(OrphanSeat) as caught:
        await store.hold(sid, "u1", [seat["A2"], seat["A3"]])
    assert seats_of(caught.value) == [seat["A1"]]
    with pytest.raises(OrphanSeat):
        await store.hold(sid, "u1", [seat["A9"]])
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    await store.hold(sid, "u1", [seat["A10"]])


async def test_orphan_against_an_aisle(store, make_screening) -> None:
    with_aisle = await make_screening(aisles_after=[5])
    sid, seat = with_aisle["screening_id"], with_aisle["seats"]
    with pytest.raises(OrphanSeat) as caught:
        await store.hold(sid, "u1", [seat["A3"], seat["A4"]])
    assert seats_of(caught.value) == [seat["A5"]]  # A5 sits against the aisle
    await store.hold(sid, "u1", [seat["A4"], seat["A5"]])
    await store.hold(sid, "u2", [seat["A6"], seat["A7"]])  # the other side of the aisle is a row end
    plain = await make_screening()
    await store.hold(plain["screening_id"], "u1", [plain["seats"]["A3"], plain["seats"]["A4"]])


async def test_the_last_seats_of_a_row_may_always_be_taken(store, make_screening) -> None:
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat[f"A{n}"] for n in range(1, 9)])
    await store.hold(sid, "u2", [seat["A10"]])  # A9 is left alone, but it is the row's last free seat
    assert sorted((await store.snapshot(sid, None))["held"]) == sorted(seat[f"A{n}"] for n in (1, 2, 3, 4, 5, 6, 7, 8, 10))


async def test_an_orphan_that_already_existed_does_not_count(store, make_screening) -> None:
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.warm(sid)
    await store.mark_sold(sid, "u9", [seat["A4"], seat["A6"]])  # sales follow no rule: A5 is alone
    with pytest.raises(OrphanSeat) as caught:
        await store.hold(sid, "u2", [seat["A1"], seat["A2"]])
    assert seats_of(caught.value) == [seat["A3"]]
    await store.hold(sid, "u2", [seat["A1"], seat["A2"], seat["A3"]])  # A5 was alone already


async def test_orphan_rule_off(store, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A2"]])
    await store.hold(sid, "u2", [seat["A4"]])


async def test_hold_best_picks_the_centre_of_the_best_row(store, make_screening) -> None:
    s = await make_screening()  # rows A..D; the best spot is the middle of row C
    sid, seat = s["screening_id"], s["seats"]
    got = await store.hold_best(sid, "u1", 2)
    assert got["seats"] == [seat["C5"], seat["C6"]] and got["deadline"]
    got = await store.hold_best(sid, "u2", 4, "standard")
    assert got["seats"] in ([seat[f"B{n}"] for n in (4, 5, 6, 7)], [seat[f"D{n}"] for n in (4, 5, 6, 7)])


async def test_hold_best_avoids_orphans(make_store, make_screening) -> None:
    store = await make_store()
    for rule, expected in ((True, ({"B5", "B6"}, {"D5", "D6"})), (False, ({"C5", "C6"},))):
        s = await make_screening(orphan_rule=rule)
        sid, seat = s["screening_id"], s["seats"]
        await store.hold(sid, "u1", [seat["C3"], seat["C4"]])
        await store.hold(sid, "u1", [seat["C8"]])
        got = await store.hold_best(sid, "u2", 2)
        names = {name for name, i in seat.items() if i in got["seats"]}
        assert names in expected, (rule, names)


async def test_hold_best_respects_kinds(store, make_screening) -> None:
    kinds = {("D", n): "vip" for n in range(1, 11)}
    s = await make_screening(kinds=kinds)
    sid, seat = s["screening_id"], s["seats"]
    assert (await store.hold_best(sid, "u1", 2, "vip"))["seats"] == [seat["D5"], seat["D6"]]
    assert (await store.hold_best(sid, "u2", 10, "standard"))["seats"] == [seat[f"C{n}"] for n in range(1, 11)]
    standard = await store.hold_best(sid, "u3", 10, "standard")
    assert standard["seats"] in ([seat[f"B{n}"] for n in range(1, 11)],)


async def test_hold_best_says_when_no_seats_are_together(store, make_screening) -> None:
    s = await make_screening(rows=2, per_row=6, kinds={("B", 1): "vip", ("B", 2): "vip", ("B", 5): "vip"},
                             blocked=[("A", 3)])
    sid = s["screening_id"]
    with pytest.raises(NoAdjacentSeats):
        await store.hold_best(sid, "u1", 3, "vip")
    with pytest.raises(NoAdjacentSeats):
        await store.hold_best(sid, "u1", 4, "standard")  # A is split by a blocked seat, B by vips
    with pytest.raises(NoAdjacentSeats):
        await store.hold_best(sid, "u1", 1, "wheelchair")
    assert len((await store.hold_best(sid, "u1", 2, "vip"))["seats"]) == 2


async def test_wheelchair_places_need_a_wheelchair_request(store, make_screening) -> None:
    s = await make_screening(kinds={("A", 1): "wheelchair", ("A", 2): "companion"})
    sid, seat = s["screening_id"], s["seats"]
    with pytest.raises(WheelchairOnly):
        await store.hold(sid, "u1", [seat["A1"]])
    with pytest.raises(CompanionOnly):
        await store.hold(sid, "u1", [seat["A2"]])
    with pytest.raises(CompanionOnly):
        await store.hold_best(sid, "u1", 1, "companion")
    await store.hold(sid, "u1", [seat["A1"]], wheelchair=True)
    await store.hold(sid, "u1", [seat["A2"]])  # the companion of a place u1 holds
    s2 = await make_screening(kinds={("A", 1): "wheelchair", ("A", 2): "companion"})
    sid2, seat2 = s2["screening_id"], s2["seats"]
    await store.hold(sid2, "u2", [seat2["A1"]], wheelchair=True)
    with pytest.raises(CompanionOnly):
        await store.hold(sid2, "u3", [seat2["A2"]])  # the companion of someone else's place
    with pytest.raises(CompanionOnly):
        await store.hold(sid2, "u3", [seat2["A2"], seat2["A3"]], wheelchair=True)
    s4 = await make_screening(kinds={("A", 1): "wheelchair", ("A", 2): "companion"})
    got = await store.hold(s4["screening_id"], "u2", [s4["seats"]["A1"], s4["seats"]["A2"]], wheelchair=True)
    assert got["seats"] == [s4["seats"]["A1"], s4["seats"]["A2"]]
    s3 = await make_screening(kinds={("A", 1): "wheelchair", ("A", 2): "companion"})
    assert (await store.hold_best(s3["screening_id"], "u4", 1, "wheelchair"))["seats"] == [s3["seats"]["A1"]]


@at_any_hour
async def test_accessible_places_go_on_general_sale_near_the_start(store, make_screening, clock) -> None:
    s = await make_screening(kinds={("A", 1): "wheelchair", ("A", 2): "companion"},
                             starts_in=dt.timedelta(minutes=30))
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A2"]])
    await store.hold(sid, "u2", [seat["A1"]])
    s2 = await make_screening(kinds={("B", 1): "wheelchair", ("B", 2): "companion"},
                              starts_in=dt.timedelta(minutes=90))
    with pytest.raises(WheelchairOnly):
        await store.hold(s2["screening_id"], "u1", [s2["seats"]["B1"]])
    clock.advance(31 * 60)  # now 59 minutes before the start: inside the release window
    assert (await store.hold(s2["screening_id"], "u1", [s2["seats"]["B1"]]))["seats"] == [s2["seats"]["B1"]]


async def test_blocked_seats_cannot_be_held(store, make_screening) -> None:
    s = await make_screening(blocked=[("B", 5)], orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    with pytest.raises(SeatBlocked) as caught:
        await store.hold(sid, "u1", [seat["B4"], seat["B5"]])
    assert seats_of(caught.value) == [seat["B5"]]
    snap = await store.snapshot(sid, None)
    assert snap["blocked"] == [seat["B5"]] and snap["counts"]["capacity"] == 39


async def test_houseful_on_and_off(store, make_screening, redis) -> None:
    s = await make_screening(rows=1, per_row=5, blocked=[("A", 5)], orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    async with listen(store, redis, sid) as events:
        await store.hold(sid, "u2", [seat["A3"], seat["A4"]])
        assert (await events.next())["houseful"] is True
        counts = await store.counts(sid)
        assert counts["houseful"] and counts["free"] == 0 and counts["capacity"] == 4
        with pytest.raises(Houseful):
            await store.hold(sid, "u3", [seat["A1"]])
        with pytest.raises(Houseful):
            await store.hold_best(sid, "u3", 1)
        assert (await store.snapshot(sid, "u3"))["houseful"] is True
        await store.release(sid, "u1", [seat["A2"]])
        event = await events.next()
        assert event["type"] == "released" and event["houseful"] is False
    counts = await store.counts(sid)
    assert not counts["houseful"] and counts["free"] == 1 and counts["held"] == 3


@at_any_hour
async def test_the_sale_closes_at_the_start(store, make_screening, clock) -> None:
    s = await make_screening(starts_in=dt.timedelta(minutes=1), orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"]])
    assert (await store.snapshot(sid, None))["closed"] is False
    clock.advance(61)  # the film has started
    with pytest.raises(ScreeningClosed):
        await store.hold(sid, "u2", [seat["A2"]])
    with pytest.raises(ScreeningClosed):
        await store.extend(sid, "u1")
    assert (await store.snapshot(sid, None))["closed"] is True


async def test_closed_screenings_refuse_holds(store, make_screening, pg) -> None:
    past = await make_screening(starts_in=dt.timedelta(minutes=-5))
    with pytest.raises(ScreeningClosed):
        await store.hold(past["screening_id"], "u1", [past["seats"]["A1"], past["seats"]["A2"]])
    snap = await store.snapshot(past["screening_id"], None)
    assert snap["closed"] is True and snap["held"] == []
    s = await make_screening()
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    await pg.execute("UPDATE screening SET status = 'cancelled' WHERE id = $1", sid)
    await store.refresh(sid)
    with pytest.raises(ScreeningClosed):
        await store.hold_best(sid, "u2", 2)
    with pytest.raises(ScreeningClosed):
        await store.extend(sid, "u1")
    assert (await store.release(sid, "u1", None))["seats"] == [seat["A1"], seat["A2"]]
