"""Holds the room already knows cannot win are refused by the worker, without Redis (issue 13).

The room learns from its screening's events which seats are taken; a hold for one of them gets
the answer Redis would give. Whenever that memory might be wrong (an expired hold not yet swept,
a closed or cancelled screening, a version gap), the hold goes to Redis and Redis decides.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from server.live.taken import TakenSeats
from tests.support.clocks import at_any_hour
from tests.wsclient import connect


async def _refused_here(client: Any) -> float:
    text = await (await client.get("/metrics")).text()
    found = re.search(r"^houseful_holds_refused_in_room_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def _ann_holds(client: Any, make_user: Any, sid: int, seats: list[int]) -> tuple[Any, Any, dict]:
    """Ann holds `seats`; Bob, in the same room, has seen it. Returns (ann's socket, bob's, her hold)."""
    ann, bob = await make_user(), await make_user()
    a = await connect(client, sid, token=ann["token"])
    b = await connect(client, sid, token=bob["token"])
    held = await a.ok("hold", seats=seats)
    await b.event(lambda e: e["type"] == "held")
    return a, b, held


async def test_a_hold_for_a_seat_the_room_saw_taken_is_refused_by_the_worker(client, make_user, make_screening) -> None:
    s = await make_screening(rows=2, per_row=6, orphan_rule=False)
    sid, seats = s["screening_id"], s["seats"]
    a, b, held = await _ann_holds(client, make_user, sid, [seats["A1"]])
    seen = b.events()[-1]
    assert seen["until"] == held["deadline"]  # the event says until when the seat is held
    before = await _refused_here(client)

    taken = await b.error("hold", seats=[seats["A2"], seats["A1"]])
    assert taken["code"] == "seat_taken" and taken["seats"] == [seats["A1"]]
    assert await _refused_here(client) == before + 1  # answered without a Redis round trip
    assert (await b.ok("hold", seats=[seats["A2"]]))["seats"] == [seats["A2"]]  # all or nothing: A2 was free
    again = await a.ok("hold", seats=[seats["A1"]])  # the holder asking again is not refused
    assert again["seats"] == [] and again["deadline"] == held["deadline"]
    assert await _refused_here(client) == before + 1
    mine = await b.ok("my_holds")
    assert mine["seats"] == [seats["A2"]]
    await a.close()
    await b.close()


async def test_houseful_is_the_answer_when_every_seat_is_taken(client, make_user, make_screening) -> None:
    s = await make_screening(rows=1, per_row=2, orphan_rule=False)
    sid, seats = s["screening_id"], s["seats"]
    a, b, _ = await _ann_holds(client, make_user, sid, [seats["A1"], seats["A2"]])
    assert b.events()[-1]["houseful"] is True
    before = await _refused_here(client)
    assert (await b.error("hold", seats=[seats["A1"]]))["code"] == "houseful"
    assert await _refused_here(client) == before + 1
    await a.close()
    await b.close()


@at_any_hour
async def test_a_hold_past_its_deadline_is_not_refused_before_the_sweeper_says_so(
        make_client, make_user, make_screening, clock) -> None:
    # No sweeper here: the lapsed hold is only expired by the next script, which the room must let through.
    client = await make_client(holds={"sweep_interval_ms": 60_000})
    s = await make_screening(rows=1, per_row=4, orphan_rule=False)
    sid, seats = s["screening_id"], s["seats"]
    a, b, held = await _ann_holds(client, make_user, sid, [seats["A1"]])
    assert (await b.error("hold", seats=[seats["A1"]]))["code"] == "seat_taken"
    clock.advance((held["deadline"] - clock.ms()) / 1000 + 1)  # Ann's hold lapses; no event yet
    got = await b.ok("hold", seats=[seats["A1"]])
    assert got["seats"] == [seats["A1"]]
    expired = await a.event(lambda e: e["type"] == "expired")
    assert expired["seats"] == [seats["A1"]]
    await a.close()
    await b.close()


async def test_a_started_screening_says_closed_not_taken(client, make_user, make_screening, clock) -> None:
    s = await make_screening(rows=1, per_row=4, orphan_rule=False, starts_in=dt.timedelta(minutes=2))
    sid, seats = s["screening_id"], s["seats"]
    a, b, held = await _ann_holds(client, make_user, sid, [seats["A1"]])
    clock.advance(150)  # the film has started; Ann's hold (8 minutes) has not lapsed
    assert held["deadline"] > clock.ms()
    assert (await b.error("hold", seats=[seats["A1"]]))["code"] == "screening_closed"
    await a.close()
    await b.close()


async def test_a_cancelled_screening_says_closed_not_taken(client, make_user, make_screening) -> None:
    admin = await make_user("admin")
    s = await make_screening(rows=1, per_row=4, orphan_rule=False)
    sid, seats = s["screening_id"], s["seats"]
    a, b, _ = await _ann_holds(client, make_user, sid, [seats["A1"]])
    resp = await client.post(f"/api/screenings/{sid}/cancel", headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    await b.event(lambda e: e["type"] == "reloaded")
    assert (await b.error("hold", seats=[seats["A1"]]))["code"] == "screening_closed"
    await a.close()
    await b.close()


# --- the memory itself: what it learns from events and when it forgets --------------------------

NOW = 1_800_000_000_000


def _held(v: int, seats: list[int], by: str = "ann", until: int | None = NOW + 60_000, **extra: Any) -> dict:
    event = {"v": v, "type": "held", "seats": seats, "by": by, "ts": NOW, "houseful": False, **extra}
    if until is not None:
        event["until"] = until
    return event


def _memory(*events: dict) -> TakenSeats:
    taken = TakenSeats()
    taken.closes_at = NOW + 3_600_000
    for event in events:
        taken.apply(event)
    return taken


def test_sold_seats_stay_taken_and_released_ones_do_not() -> None:
    taken = _memory(_held(1, [1, 2]), {"v": 2, "type": "sold", "seats": [1], "by": "ann", "houseful": False},
                    {"v": 3, "type": "released", "seats": [2], "by": "ann", "houseful": False})
    assert taken.refusal([1, 2], "bob", taken.closes_at) is None  # the screening has started: Redis decides
    refused = taken.refusal([1, 2], "bob", taken.closes_at - 1)  # long after Ann's hold would have lapsed
    assert refused is not None and refused.code == "seat_taken" and refused.extra == {"seats": [1]}
    assert taken.refusal([2], "bob", NOW + 1) is None


@pytest.mark.parametrize("surprise", [
    {"v": 5, "type": "released", "seats": [9], "by": "x", "houseful": False},  # v 2..4 were missed
    {"v": 2, "type": "reloaded", "seats": [], "by": "", "houseful": False},
    {"v": 2, "type": "something_new", "by": "", "houseful": False},
], ids=["version-gap", "reloaded", "unknown-type"])
def test_the_memory_forgets_everything_it_cannot_vouch_for(surprise: dict) -> None:
    taken = _memory(_held(1, [1]))
    assert taken.refusal([1], "bob", NOW) is not None
    taken.apply(surprise)
    assert taken.refusal([1], "bob", NOW) is None


def test_a_hold_without_a_deadline_or_a_closed_sale_refuses_nothing() -> None:
    assert _memory(_held(1, [1], until=None)).refusal([1], "bob", NOW) is None  # an older worker's event
    unknown_close = _memory(_held(1, [1]))
    unknown_close.closes_at = None
    assert unknown_close.refusal([1], "bob", NOW) is None
    assert _memory(_held(1, [1])).refusal([1], "ann", NOW) is None  # Ann's own seat: Redis keeps it
    full = _memory(_held(1, [1], houseful=True))
    refused = full.refusal([1], "bob", NOW)
    assert refused is not None and refused.code == "houseful"
