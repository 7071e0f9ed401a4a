"""The waiting room on release night: countdown, the line, admission, holds, sold out, restarts.

Real servers, Redis and PostgreSQL; real sockets. Time passes by moving the test clock (the
admitter counts admissions by the clock), and every wait is for a frame or a reply.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import orjson
import pytest

from server import keys
from tests.support.catalog import sell
from tests.support.checkout import pay, order, wait_status
from tests.support.clocks import around_midnight
from tests.wsclient import RoomClient, connect

FAST = {"tick_ms": 40, "lease_ms": 300}


@pytest.fixture
async def wr_client(make_client: Any) -> Any:
    return await make_client(waiting_room=FAST)


async def policy(client: Any, admin: dict[str, Any], sid: int, **changes: Any) -> dict[str, Any]:
    resp = await client.put(f"/api/screenings/{sid}/waiting-room", json=changes, headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def line(client: Any, sid: int, user: dict[str, Any]) -> RoomClient:
    ws = await client.ws_connect(f"/ws/screenings/{sid}/line", headers=user["headers"])
    return RoomClient(ws)


def frame(pred: Any) -> Any:
    return lambda m: m.get("type") == "line" and pred(m)


@around_midnight
async def test_countdown_line_admission_hold_checkout(wr_client: Any, make_user: Any, make_screening: Any,
                                                      clock: Any) -> None:
    client = wr_client
    sc = await make_screening(rows=1, per_row=6)
    sid = sc["screening_id"]
    admin, ann, bob = await make_user("admin"), await make_user(), await make_user()
    opens = clock.now() + dt.timedelta(minutes=10)
    await policy(client, admin, sid, sales_open_at=opens.isoformat(), mode="always", admit_per_second=1)
    room = await connect(client, sid, token=ann["token"])
    assert (await room.error("hold", seats=[sc["seats"]["A1"]]))["code"] == "not_on_sale"

    ann_tab, ann_tab2, bob_tab = await line(client, sid, ann), await line(client, sid, ann), await line(client, sid, bob)
    before = await ann_tab.ok("join")
    assert before["number"] is None and before["line"]["opened"] is False  # a random place at the opening
    assert (await bob_tab.ok("join"))["number"] is None
    await ann_tab.wait_for(frame(lambda m: m["opens_at"] == int(opens.timestamp() * 1000)))

    clock.advance(601)  # the opening: early arrivals are shuffled into places 1 and 2
    await ann_tab.wait_for(frame(lambda m: m["opened"] and m["last"] == 2))
    ann_no = (await ann_tab.ok("join"))["number"]
    assert (await ann_tab2.ok("join"))["number"] == ann_no  # a second tab keeps the place
    bob_no = (await bob_tab.ok("join"))["number"]
    assert {ann_no, bob_no} == {1, 2}
    assert (await room.error("hold", seats=[sc["seats"]["A1"]]))["code"] == "admission_required"
    refused = await order(client, bob, sid, [sc["seats"]["A3"]])  # an order of free seats is no way round
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "admission_required"

    clock.advance(3)  # a rate of 1 a second: both numbers are called
    await bob_tab.wait_for(frame(lambda m: m["admitted"] >= 2))
    ann_pass, bob_pass = await ann_tab.ok("admission"), await bob_tab.ok("admission")
    assert (await room.error("admission", **{"pass": bob_pass["pass"]}))["code"] == "admission_required"
    assert (await room.ok("admission", **{"pass": ann_pass["pass"]}))["expires"] == ann_pass["expires"]
    await room.ok("hold", seats=[sc["seats"]["A1"], sc["seats"]["A2"]])
    resp = await order(client, ann, sid, [sc["seats"]["A1"], sc["seats"]["A2"]])
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    await pay(client, created)
    await wait_status(client, ann, created["order_key"], {"paid"})
    for sock in (room, ann_tab, ann_tab2, bob_tab):
        await sock.close()


async def test_pause_and_resume_are_audited(wr_client: Any, make_user: Any, make_screening: Any,
                                            clock: Any, pg: Any) -> None:
    client = wr_client
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin, ann = await make_user("admin"), await make_user()
    await policy(client, admin, sid, mode="always", admit_per_second=50, paused=True)
    tab = await line(client, sid, ann)
    assert (await tab.ok("join"))["number"] == 1
    clock.advance(10)
    later = clock.ms()
    paused = await tab.wait_for(frame(lambda m: m["server_time"] >= later))
    assert paused["paused"] and paused["admitted"] == 0
    assert (await tab.error("admission"))["code"] == "still_waiting"
    day = (clock.now() + dt.timedelta(days=1)).astimezone(zoneinfo.ZoneInfo("Europe/London")).date()
    resp = await client.get(f"/api/dashboard/occupancy?date={day}", headers=admin["headers"])
    row = next(r for r in (await resp.json())["screenings"] if r["screening_id"] == sid)
    assert row["waiting_room"] == {"mode": "always", "waiting": 1, "admitted": 0, "shopping": 0, "rate": 50,
                                   "paused": True, "eta_houseful_seconds": None}
    status = await policy(client, admin, sid, paused=False)
    assert not status["paused"]
    assert (status["waiting"], status["admitted"]) in ((1, 0), (0, 1))  # a tick may admit her at once
    await tab.wait_for(frame(lambda m: m["admitted"] >= 1 and not m["paused"]))
    assert (await tab.ok("admission"))["number"] == 1
    actions = await pg.fetch("SELECT details FROM user_action WHERE action = 'screening.waiting_room'"
                             " AND (details->>'screening_id')::bigint = $1 ORDER BY id", sid)
    assert [orjson.loads(a["details"]).get("paused") for a in actions] == [True, False]
    await tab.close()


async def test_houseful_tells_the_whole_line(wr_client: Any, make_user: Any, make_screening: Any,
                                             clock: Any, pg: Any) -> None:
    client = wr_client
    sc = await make_screening(rows=1, per_row=2)
    sid = sc["screening_id"]
    other = await pg.fetchval(
        "INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices)"
        " SELECT auditorium_id, movie_id, starts_at + interval '1 day', ends_at + interval '1 day', prices"
        " FROM screening WHERE id = $1 RETURNING id", sid)
    admin, ann, bob = await make_user("admin"), await make_user(), await make_user()
    await policy(client, admin, sid, mode="always", admit_per_second=1, paused=True)
    tabs = [await line(client, sid, ann), await line(client, sid, bob)]
    for tab in tabs:
        await tab.ok("join")
    for seat in sc["seats"].values():
        await sell(pg, sid, seat, admin["id"])
    await client.app[keys.HOLDS].rebuild_sold(sid)
    for tab in tabs:
        told = await tab.wait_for(lambda m: m.get("type") == "sold_out")
        assert "Sold out" in told["message"] and [o["id"] for o in told["others"]] == [other]
        assert await tab.wait_closed() == 4010
    assert (await policy(client, admin, sid, paused=False))["waiting"] == 0


async def test_a_worker_restart_loses_no_place(make_client: Any, make_user: Any, make_screening: Any,
                                               clock: Any) -> None:
    first = await make_client(waiting_room=FAST)
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin = await make_user("admin")
    users = [await make_user() for _ in range(3)]
    await policy(first, admin, sid, mode="always", admit_per_second=1, paused=True)
    numbers = {}
    for user in users:
        tab = await line(first, sid, user)
        numbers[user["id"]] = (await tab.ok("join"))["number"]
    assert sorted(numbers.values()) == [1, 2, 3]
    await first.close()  # the worker goes away with everyone's sockets

    second = await make_client(waiting_room=FAST)
    await policy(second, admin, sid, paused=False)
    for user in users:
        tab = await line(second, sid, user)
        assert (await tab.ok("join"))["number"] == numbers[user["id"]]
    clock.advance(1)  # the new worker takes the admitter's lease and calls the next number
    await tab.wait_for(frame(lambda m: m["admitted"] >= 1))
    await tab.close()


async def test_off_means_straight_to_the_seat_map(wr_client: Any, make_user: Any, make_screening: Any) -> None:
    sc = await make_screening(rows=1, per_row=4)
    ann = await make_user()
    tab = await line(wr_client, sc["screening_id"], ann)
    assert (await tab.error("join"))["code"] == "no_waiting_room"
    room = await connect(wr_client, sc["screening_id"], token=ann["token"])
    await room.ok("hold", seats=[sc["seats"]["A1"]])
    for sock in (room, tab):
        await sock.close()


async def test_auto_admits_at_once_until_the_cap_is_reached(wr_client: Any, make_user: Any,
                                                            make_screening: Any) -> None:
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin, ann, bob = await make_user("admin"), await make_user(), await make_user()
    await policy(wr_client, admin, sid, mode="auto", admit_per_second=1, max_active=1)
    ann_tab, bob_tab = await line(wr_client, sid, ann), await line(wr_client, sid, bob)
    assert (await ann_tab.ok("join"))["line"]["admitted"] == 1  # nobody waiting, room to shop: straight in
    await ann_tab.ok("admission")  # ann shops now: the one place is taken
    joined = await bob_tab.ok("join")
    assert joined["number"] == 2 and joined["line"]["admitted"] == 1
    assert (await bob_tab.error("admission"))["code"] == "still_waiting"
    for tab in (ann_tab, bob_tab):
        await tab.close()


async def test_a_buyer_frees_their_shopping_place_for_the_next_number(wr_client: Any, make_user: Any,
                                                                      make_screening: Any, clock: Any) -> None:
    # With every shopping place taken by customers who had already paid, the line used to stand
    # still until their 10-minute windows ran out, though seats were still free.
    client = wr_client
    sc = await make_screening(rows=1, per_row=4)
    sid = sc["screening_id"]
    admin, ann, bob = await make_user("admin"), await make_user(), await make_user()
    await policy(client, admin, sid, mode="always", admit_per_second=50, max_active=1)
    ann_tab, bob_tab = await line(client, sid, ann), await line(client, sid, bob)
    assert (await ann_tab.ok("join"))["number"] == 1
    clock.advance(1)
    await ann_tab.wait_for(frame(lambda m: m["admitted"] >= 1))
    ann_pass = await ann_tab.ok("admission")  # ann shops: the one place is taken
    assert (await bob_tab.ok("join"))["number"] == 2
    clock.advance(1)
    later = clock.ms()
    still = await bob_tab.wait_for(frame(lambda m: m["server_time"] >= later))
    assert still["admitted"] == 1 and still["shopping"] == 1

    room = await connect(client, sid, token=ann["token"])
    await room.ok("admission", **{"pass": ann_pass["pass"]})
    await room.ok("hold", seats=[sc["seats"][s] for s in ("A1", "A2", "A3")])
    for seats, shopping in ((["A1", "A2"], 1), (["A3"], 0)):  # still holding A3 she is still shopping
        resp = await order(client, ann, sid, [sc["seats"][s] for s in seats])
        assert resp.status == 201, await resp.text()
        created = await resp.json()
        await pay(client, created)
        await wait_status(client, ann, created["order_key"], {"paid"})
        ids = {sc["seats"][s] for s in seats}
        await room.wait_for(lambda m: m.get("type") == "events" and any(
            e["type"] == "sold" and set(e["seats"]) == ids for e in m["events"]))
        clock.advance(0.001)
        later = clock.ms()
        now = await bob_tab.wait_for(frame(lambda m: m["server_time"] >= later))
        assert now["shopping"] == shopping and (shopping == 0 or now["admitted"] == 1)  # bob waits while she shops
    clock.advance(1)  # well inside ann's window
    await bob_tab.wait_for(frame(lambda m: m["admitted"] >= 2))
    assert (await bob_tab.ok("admission"))["number"] == 2
    for sock in (room, ann_tab, bob_tab):
        await sock.close()


async def test_a_buyer_may_buy_more_until_their_window_ends_then_queues_again(
    wr_client: Any, make_user: Any, make_screening: Any, clock: Any, settings: Any,
) -> None:
    # A real ticketing site's admission is a session: paying does not end it. Ann pays, comes back
    # for one more seat with the same pass and the same place, and only when her window is over
    # does she go back to the line, to its end.
    client = wr_client
    sc = await make_screening(rows=1, per_row=4)
    sid = sc["screening_id"]
    admin, ann, bob = await make_user("admin"), await make_user(), await make_user()
    await policy(client, admin, sid, mode="always", admit_per_second=50, max_active=1)
    ann_tab = await line(client, sid, ann)
    assert (await ann_tab.ok("join"))["number"] == 1
    clock.advance(1)
    await ann_tab.wait_for(frame(lambda m: m["admitted"] >= 1))
    ann_pass = await ann_tab.ok("admission")
    room = await connect(client, sid, token=ann["token"])
    await room.ok("admission", **{"pass": ann_pass["pass"]})
    await room.ok("hold", seats=[sc["seats"]["A1"]])
    first = await order(client, ann, sid, [sc["seats"]["A1"]])
    assert first.status == 201, await first.text()
    await pay(client, await first.json())
    await wait_status(client, ann, (await first.json())["order_key"], {"paid"})

    # Bob joins after her purchase: her shopping place is free, so he is admitted while she is still in her window.
    bob_tab = await line(client, sid, bob)
    assert (await bob_tab.ok("join"))["number"] == 2
    clock.advance(1)
    await bob_tab.wait_for(frame(lambda m: m["admitted"] >= 2))
    assert (await ann_tab.ok("join"))["number"] == 1  # same place: her admission still runs
    assert (await ann_tab.ok("admission"))["expires"] == ann_pass["expires"]  # the same window, not a new one
    await room.ok("hold", seats=[sc["seats"]["A2"]])
    more = await order(client, ann, sid, [sc["seats"]["A2"]])
    assert more.status == 201, await more.text()
    await pay(client, await more.json())
    await wait_status(client, ann, (await more.json())["order_key"], {"paid"})

    clock.advance(settings.waiting_room.admission_seconds)  # her window is over
    assert (await room.error("hold", seats=[sc["seats"]["A3"]]))["code"] == "admission_required"
    assert (await ann_tab.error("admission"))["code"] == "admission_spent"
    assert (await ann_tab.ok("join"))["number"] == 3  # back to the line, at its end
    for sock in (room, ann_tab, bob_tab):
        await sock.close()


async def test_a_waiting_peer_that_stops_reading_is_closed_and_keeps_its_place(
    wr_client: Any, make_user: Any, make_screening: Any, monkeypatch: Any,
) -> None:
    # No heartbeat on the line: the tick's frames are the liveness check. The limit is lowered to
    # nothing, so the first frame finds "too much unread" and the socket is closed (4009).
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin, ann = await make_user("admin"), await make_user()
    await policy(wr_client, admin, sid, mode="always", paused=True)
    tab = await line(wr_client, sid, ann)
    number = (await tab.ok("join"))["number"]
    monkeypatch.setattr("server.ws.line.UNREAD_LIMIT", 0)
    assert await tab.wait_closed() == 4009
    monkeypatch.undo()
    again = await line(wr_client, sid, ann)
    assert (await again.ok("join"))["number"] == number  # the place stayed
    await again.close()
