"""The waiting list of a houseful screening: the line's order, claim windows and concurrent cancellations.

Seats that come free go straight into the next in line's hold in the same Lua script: the tests
listen on the screening's real event channel and check no seat handed over is ever announced
free, that offers follow the order people joined, and that an unbought offer passes on when the
claim window ends (the clock moves; nothing waits).
"""
from __future__ import annotations

import asyncio
import zoneinfo
from typing import Any, AsyncIterator

import orjson
import pytest

from server import keys
from server.keyspace import KeySpace
from server.redis_client import pubsub as open_pubsub
from tests.support.checkout import new_order, pay, wait_status

CLAIM_MINUTES = 10


@pytest.fixture
async def wl_client(make_client: Any) -> Any:
    # The lines are tended by the test (tend()), not by the background round, so each step is explicit.
    return await make_client(waitlist={"claim_minutes": CLAIM_MINUTES, "offer_interval_ms": 60_000})


class Events:
    """Every event published on a screening's channel (a real Redis subscription)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []


@pytest.fixture
async def events(redis: Any, settings: Any) -> AsyncIterator[Any]:
    subs: list[Any] = []

    async def listen(screening_id: int) -> Events:
        found = Events()
        pubsub = open_pubsub(redis)
        await pubsub.subscribe(KeySpace(settings.redis.key_prefix).channel(screening_id))

        async def pump() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    found.seen.append(orjson.loads(message["data"]))
        subs.append((pubsub, asyncio.create_task(pump())))
        return found

    yield listen
    for pubsub, task in subs:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pubsub.aclose()


async def _sell_out(client: Any, make_user: Any, sc: dict[str, Any], groups: list[list[str]]) -> list[tuple]:
    """Each group of seats bought by its own customer; (buyer, order key) per group."""
    bought = []
    for seats in groups:
        buyer = await make_user()
        created = await new_order(client, buyer, sc["screening_id"], [sc["seats"][s] for s in seats])
        await pay(client, created)
        await wait_status(client, buyer, created["order_key"], {"paid"})
        bought.append((buyer, created["order_key"]))
    return bought


async def _join(client: Any, user: dict[str, Any], sid: int, seats: int) -> dict[str, Any]:
    resp = await client.post(f"/api/screenings/{sid}/waitlist", json={"seats": seats}, headers=user["headers"])
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _until(check: Any, seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "it did not happen in time"
        await asyncio.sleep(0.02)


def _tag(client: Any, sid: int, user: dict[str, Any]) -> str:
    return client.app[keys.HOLDS].owner_tag(sid, f"u{user['id']}")


async def test_freed_seats_go_to_the_line_in_order_and_pass_on_when_a_claim_window_ends(
        wl_client: Any, make_user: Any, make_screening: Any, events: Any, clock: Any, pg: Any) -> None:
    client = wl_client
    sc = await make_screening(rows=1, per_row=4, orphan_rule=False)
    sid = sc["screening_id"]
    (b1, key1), (b2, key2) = await _sell_out(client, make_user, sc, [["A1", "A2"], ["A3", "A4"]])
    w1, w2, w3 = await make_user(), await make_user(), await make_user()
    assert (await _join(client, w1, sid, 2))["me"]["position"] == 1
    assert (await _join(client, w2, sid, 1))["me"]["position"] == 2
    assert (await _join(client, w3, sid, 1))["me"]["position"] == 3
    assert (await (await client.get(f"/api/screenings/{sid}/waitlist")).json())["waiting"] == 3
    seen = await events(sid)

    # A buyer cancels: both seats go straight to the first in line, never announced free.
    resp = await client.post(f"/api/orders/{key1}/cancel", headers=b1["headers"])
    assert resp.status == 200
    waitlist = client.app[keys.WAITLIST]
    await waitlist.tend()
    mine = await client.app[keys.HOLDS].my_holds(sid, f"u{w1['id']}")
    assert sorted(mine["seats"]) == sorted([sc["seats"]["A1"], sc["seats"]["A2"]])
    assert mine["deadline"] == pytest.approx(clock.ms() + CLAIM_MINUTES * 60_000, abs=5_000)
    status = await (await client.get(f"/api/screenings/{sid}/waitlist", headers=w1["headers"])).json()
    assert status["me"]["status"] == "offered" and status["waiting"] == 2
    assert await pg.fetchval("SELECT count(*) FROM message WHERE kind = 'waitlist_offer' AND user_id = $1",
                             w1["id"]) == 1

    # The first in line lets the window pass: the seats go on to the next two, one each.
    clock.advance(CLAIM_MINUTES * 60 + 1)
    await waitlist.tend()
    holds = client.app[keys.HOLDS]
    assert (await holds.my_holds(sid, f"u{w2['id']}"))["seats"] == [sc["seats"]["A1"]]
    assert (await holds.my_holds(sid, f"u{w3['id']}"))["seats"] == [sc["seats"]["A2"]]
    assert (await holds.my_holds(sid, f"u{w1['id']}"))["seats"] == []

    # The second buys; the third lets the window pass and, nobody being left in line, A2 is free.
    created = await new_order(client, w2, sid, [sc["seats"]["A1"]])
    await pay(client, created)
    await wait_status(client, w2, created["order_key"], {"paid"})
    clock.advance(CLAIM_MINUTES * 60 + 1)
    await waitlist.tend()
    await _until(lambda: _has(seen, "expired"))
    handed = [e for e in seen.seen if e["type"] == "held" and e.get("offer")]
    assert [(e["by"], e["seats"]) for e in handed] == [
        (_tag(client, sid, w1), [sc["seats"]["A1"], sc["seats"]["A2"]]),
        (_tag(client, sid, w2), [sc["seats"]["A1"]]), (_tag(client, sid, w3), [sc["seats"]["A2"]])]
    announced_free = [s for e in seen.seen if e["type"] in ("freed", "released", "expired") for s in e.get("seats", [])]
    assert announced_free == [sc["seats"]["A2"]]  # only after the line was empty
    versions = [e["v"] for e in seen.seen]
    assert versions == list(range(versions[0], versions[0] + len(versions)))  # one version per change


async def _has(seen: Events, kind: str) -> bool:
    return any(e["type"] == kind for e in seen.seen)


async def test_concurrent_cancellations_serve_the_line_in_order_once_each(
        wl_client: Any, make_user: Any, make_screening: Any, events: Any, pg: Any) -> None:
    client = wl_client
    sc = await make_screening(rows=1, per_row=6, orphan_rule=False)
    sid = sc["screening_id"]
    bought = await _sell_out(client, make_user, sc, [[f"A{n}"] for n in range(1, 7)])
    line = [await make_user() for _ in range(5)]
    for waiter in line:
        await _join(client, waiter, sid, 1)
    seen = await events(sid)
    # Six cancellations at once for five people in line.
    answers = await asyncio.gather(*(client.post(f"/api/orders/{key}/cancel", headers=buyer["headers"])
                                     for buyer, key in bought))
    assert [a.status for a in answers] == [200] * 6
    await client.app[keys.WAITLIST].tend()
    holds = client.app[keys.HOLDS]
    held = [(await holds.my_holds(sid, f"u{w['id']}"))["seats"] for w in line]
    assert all(len(seats) == 1 for seats in held)
    assert len({s for seats in held for s in seats}) == 5  # nobody got a seat twice
    await _until(lambda: _count(seen, 6))
    handed = [e for e in seen.seen if e["type"] == "held" and e.get("offer")]
    # Handed in the order people joined, whatever order the cancellations landed in.
    assert [e["by"] for e in sorted(handed, key=lambda e: e["v"])] == [_tag(client, sid, w) for w in line]
    freed = [e for e in seen.seen if e["type"] == "freed"]
    assert len(freed) == 1 and len(freed[0]["seats"]) == 1  # the sixth seat, once the line was empty
    rows = await pg.fetch("SELECT user_id, status, offered_seats FROM waitlist_entry ORDER BY id")
    assert [r["status"] for r in rows] == ["offered"] * 5
    assert [list(r["offered_seats"]) for r in rows] == held


async def _count(seen: Events, n: int) -> bool:
    return len(seen.seen) >= n


async def test_joining_needs_a_houseful_screening_and_good_input(
        wl_client: Any, make_user: Any, make_screening: Any) -> None:
    client = wl_client
    sc = await make_screening(rows=1, per_row=2, orphan_rule=False)
    sid = sc["screening_id"]
    user = await make_user()
    resp = await client.post(f"/api/screenings/{sid}/waitlist", json={"seats": 1}, headers=user["headers"])
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "not_houseful"
    await _sell_out(client, make_user, sc, [["A1", "A2"]])
    for body in ({"seats": 0}, {"seats": 11}, {"seats": "2"}, {}, {"seats": 1, "vip": True}):
        resp = await client.post(f"/api/screenings/{sid}/waitlist", json=body, headers=user["headers"])
        assert resp.status == 400, body
    assert (await client.post(f"/api/screenings/{sid}/waitlist", json={"seats": 1})).status == 401
    assert (await client.post("/api/screenings/999999/waitlist", json={"seats": 1},
                              headers=user["headers"])).status == 404
    first = await _join(client, user, sid, 2)
    again = await client.post(f"/api/screenings/{sid}/waitlist", json={"seats": 2}, headers=user["headers"])
    assert again.status == 200 and (await again.json())["me"] == first["me"]  # the same place
    # Staff see the line's length on the dashboard (the screening's local day, its row and the totals).
    staff = await make_user("staff")
    starts = await client.app[keys.DB].fetchval("SELECT starts_at FROM screening WHERE id = $1", sid)
    day = starts.astimezone(zoneinfo.ZoneInfo("Europe/London")).date().isoformat()
    board = await (await client.get(f"/api/dashboard/occupancy?date={day}", headers=staff["headers"])).json()
    [row] = [r for r in board["screenings"] if r["screening_id"] == sid]
    assert row["waiting"] == 1 and board["totals"]["waiting"] == 1
    resp = await client.delete(f"/api/screenings/{sid}/waitlist", headers=user["headers"])
    assert resp.status == 204
    assert (await (await client.get(f"/api/screenings/{sid}/waitlist", headers=user["headers"])).json())["me"] is None
    assert (await client.delete(f"/api/screenings/{sid}/waitlist", headers=user["headers"])).status == 404


async def test_a_line_lost_with_redis_comes_back_from_postgresql(
        wl_client: Any, make_user: Any, make_screening: Any, redis: Any, settings: Any) -> None:
    client = wl_client
    sc = await make_screening(rows=1, per_row=2, orphan_rule=False)
    sid = sc["screening_id"]
    [(buyer, key)] = await _sell_out(client, make_user, sc, [["A1", "A2"]])
    first, second = await make_user(), await make_user()
    await _join(client, first, sid, 1)
    await _join(client, second, sid, 1)
    await redis.delete(KeySpace(settings.redis.key_prefix).screening(sid, "waitq"))
    await client.app[keys.WAITLIST].tend()  # every server's round rebuilds it
    assert (await client.post(f"/api/orders/{key}/cancel", headers=buyer["headers"])).status == 200
    holds = client.app[keys.HOLDS]
    assert len((await holds.my_holds(sid, f"u{first['id']}"))["seats"]) == 1
    assert len((await holds.my_holds(sid, f"u{second['id']}"))["seats"]) == 1
