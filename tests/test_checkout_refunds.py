"""Cancel and refund: money back through the provider, tickets cancelled, seats freed live."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import orjson

from server import keys
from server.checkout.orders import refund_screening
from server.keyspace import KeySpace
from server.redis_client import pubsub as open_pubsub
from tests.support.checkout import co_of, get_order, hold, new_order, order, pay, payment_of, snapshot, wait_status
from tests.support.clocks import at_any_hour


async def _paid(client, make_user, make_screening, **screening: Any) -> dict[str, Any]:
    s = await make_screening(orphan_rule=False, **screening)
    buyer = await make_user()
    seats = [s["seats"]["A1"], s["seats"]["A2"]]
    created = await new_order(client, buyer, s["screening_id"], seats)
    await pay(client, created)
    assert (await wait_status(client, buyer, created["order_key"]))["status"] == "paid"
    return {"s": s, "buyer": buyer, "seats": seats, "key": created["order_key"]}


async def _next_event(pubsub, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of this type on the screening's channel."""
    async def read() -> dict[str, Any]:
        while True:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            if msg is not None:
                event = orjson.loads(msg["data"])
                if event["type"] == kind:
                    return event
    return await asyncio.wait_for(read(), timeout)


async def test_customer_cancel_refunds_and_frees_seats_live(client, make_user, make_screening, redis, pg) -> None:
    p = await _paid(client, make_user, make_screening)
    channel = KeySpace(client.app[keys.SETTINGS].redis.key_prefix).channel(p["s"]["screening_id"])
    async with open_pubsub(redis) as pubsub:
        await pubsub.subscribe(channel)
        resp = await client.post(f"/api/orders/{p['key']}/cancel", headers=p["buyer"]["headers"])
        body = await resp.json()
        assert resp.status == 200 and body["status"] == "cancelled"
        event = await _next_event(pubsub, "freed")
    assert sorted(event["seats"]) == sorted(p["seats"])
    assert all(t["status"] == "cancelled" for t in body["tickets"])
    payment = await payment_of(client, pg, p["key"])
    assert (payment["status"], payment["refunds"]) == ("refunded", 1)
    assert not set(p["seats"]) & set((await snapshot(client, p["s"]["screening_id"]))["sold"])
    again = await client.post(f"/api/orders/{p['key']}/cancel", headers=p["buyer"]["headers"])
    assert (again.status, (await again.json())["error"]["code"]) == (409, "already_refunded")
    actors = await pg.fetch("SELECT actor_id, to_status FROM order_event WHERE to_status = 'cancelled'")
    assert [(a["actor_id"], a["to_status"]) for a in actors] == [(p["buyer"]["id"], "cancelled")]


async def test_cancel_after_cutoff_is_refused(client, make_user, make_screening, pg) -> None:
    p = await _paid(client, make_user, make_screening, starts_in=dt.timedelta(minutes=90))
    resp = await client.post(f"/api/orders/{p['key']}/cancel", headers=p["buyer"]["headers"])
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "cancel_closed")
    assert await pg.fetchval("SELECT status FROM orders") == "paid"
    assert await pg.fetchval("SELECT count(*) FROM ticket WHERE status = 'live'") == 2
    assert (await payment_of(client, pg, p["key"]))["status"] == "captured"


@at_any_hour
async def test_cancelling_closes_at_the_cutoff(client, make_user, make_screening, pg, clock) -> None:
    # A show 121 minutes away (the cutoff is 120): the first buyer may still cancel ...
    p = await _paid(client, make_user, make_screening, starts_in=dt.timedelta(minutes=121))
    late = await make_user()
    second = await new_order(client, late, p["s"]["screening_id"], [p["s"]["seats"]["B1"]])
    await pay(client, second)
    paid = await wait_status(client, late, second["order_key"])
    assert (paid["status"], paid["can_cancel"]) == ("paid", True)
    first = await client.post(f"/api/orders/{p['key']}/cancel", headers=p["buyer"]["headers"])
    assert (first.status, (await first.json())["status"]) == (200, "cancelled")
    # ... two minutes later the other cannot, and the order page (the server's clock) says so.
    clock.advance(120)
    view = await get_order(client, late, second["order_key"])
    assert view["can_cancel"] is False
    assert dt.datetime.fromisoformat(view["cancel_until"]) < clock.now()
    resp = await client.post(f"/api/orders/{second['order_key']}/cancel", headers=late["headers"])
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "cancel_closed")
    assert await pg.fetchval("SELECT status FROM orders WHERE order_key = $1", second["order_key"]) == "paid"


@at_any_hour
async def test_no_order_once_the_screening_has_started(client, make_user, make_screening, pg, clock) -> None:
    s = await make_screening(starts_in=dt.timedelta(minutes=1), orphan_rule=False)
    buyer = await make_user()
    await hold(client, buyer, s["screening_id"], [s["seats"]["A1"]])
    clock.advance(61)
    resp = await order(client, buyer, s["screening_id"], [s["seats"]["A1"]])
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "screening_closed")
    assert await pg.fetchval("SELECT count(*) FROM orders") == 0


async def test_only_the_buyer_cancels_and_only_staff_refund(client, make_user, make_screening, pg) -> None:
    p = await _paid(client, make_user, make_screening)
    stranger = await make_user()
    assert (await client.post(f"/api/orders/{p['key']}/cancel", headers=stranger["headers"])).status == 404
    assert (await client.post(f"/api/orders/{p['key']}/refund", headers=p["buyer"]["headers"])).status == 403
    assert (await client.post("/api/orders/ZZZZZZZZZZ/refund",
                              headers=(await make_user("staff"))["headers"])).status == 404
    assert await pg.fetchval("SELECT status FROM orders") == "paid"


async def test_staff_refund_any_time_and_twice_is_409(client, make_user, make_screening, redis, pg) -> None:
    p = await _paid(client, make_user, make_screening, starts_in=dt.timedelta(minutes=10))
    staff = await make_user("staff")
    channel = KeySpace(client.app[keys.SETTINGS].redis.key_prefix).channel(p["s"]["screening_id"])
    async with open_pubsub(redis) as pubsub:
        await pubsub.subscribe(channel)
        resp = await client.post(f"/api/orders/{p['key']}/refund", headers=staff["headers"])
        assert resp.status == 200 and (await resp.json())["status"] == "refunded"
        assert sorted((await _next_event(pubsub, "freed"))["seats"]) == sorted(p["seats"])
    twice = await client.post(f"/api/orders/{p['key']}/refund", headers=staff["headers"])
    assert (twice.status, (await twice.json())["error"]["code"]) == (409, "already_refunded")
    payment = await payment_of(client, pg, p["key"])
    assert (payment["status"], payment["refunds"]) == ("refunded", 1)


async def test_refund_screening_refunds_every_paid_order(client, make_user, make_screening, pg) -> None:
    p = await _paid(client, make_user, make_screening)
    staff = await make_user("staff")
    other = await make_user()
    pending = await new_order(client, other, p["s"]["screening_id"], [p["s"]["seats"]["B1"]])
    await pg.execute("UPDATE screening SET status = 'cancelled'")
    assert await refund_screening(co_of(client), p["s"]["screening_id"], staff["id"]) == 1
    statuses = dict(await pg.fetch("SELECT order_key, status FROM orders"))
    assert statuses == {p["key"]: "refunded", pending["order_key"]: "expired"}
    assert (await payment_of(client, pg, p["key"]))["status"] == "refunded"
    assert (await payment_of(client, pg, pending["order_key"]))["status"] == "cancelled"
    assert await pg.fetchval("SELECT count(*) FROM ticket WHERE status = 'live'") == 0
    # Idempotent: a second run finds nothing left to refund.
    assert await refund_screening(co_of(client), p["s"]["screening_id"], staff["id"]) == 0


async def test_cancelling_a_screening_through_the_catalog_refunds_its_orders(client, make_user, make_screening,
                                                                             pg) -> None:
    p = await _paid(client, make_user, make_screening)
    admin = await make_user("admin")
    resp = await client.post(f"/api/screenings/{p['s']['screening_id']}/cancel", headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    assert await pg.fetchval("SELECT status FROM orders") == "refunded"
    assert (await payment_of(client, pg, p["key"]))["status"] == "refunded"
    assert await pg.fetchval("SELECT actor_id FROM order_event WHERE to_status = 'refunded'") == admin["id"]


async def _check_in_one(client, p: dict[str, Any]) -> None:
    """The door scans the order's first ticket."""
    order = await (await client.get(f"/api/orders/{p['key']}", headers=p["buyer"]["headers"])).json()
    resp = await client.post("/api/checkin", json={"code": order["tickets"][0]["code"]}, headers=p["staff"]["headers"])
    assert (await resp.json())["result"] == "valid"


async def test_a_checked_in_order_cannot_be_cancelled_by_its_customer(client, make_user, make_screening, pg) -> None:
    p = await _paid(client, make_user, make_screening)
    p["staff"] = await make_user("staff")
    await _check_in_one(client, p)
    resp = await client.post(f"/api/orders/{p['key']}/cancel", headers=p["buyer"]["headers"])
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "checked_in")
    assert await pg.fetchval("SELECT status FROM orders") == "paid"
    assert await pg.fetchval("SELECT count(*) FROM ticket WHERE status = 'live'") == 2
    assert (await payment_of(client, pg, p["key"]))["status"] == "captured"


async def test_staff_refund_a_checked_in_order_only_on_purpose_and_it_is_audited(
        client, make_user, make_screening, pg) -> None:
    p = await _paid(client, make_user, make_screening)
    p["staff"] = await make_user("staff")
    await _check_in_one(client, p)
    url = f"/api/orders/{p['key']}/refund"
    resp = await client.post(url, headers=p["staff"]["headers"])
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "checked_in")
    assert await pg.fetchval("SELECT status FROM orders") == "paid"
    resp = await client.post(url + "?include_checked_in=true", headers=p["staff"]["headers"])
    assert resp.status == 200 and (await resp.json())["status"] == "refunded"
    assert (await payment_of(client, pg, p["key"]))["status"] == "refunded"
    audit = await pg.fetch("SELECT user_id, details ->> 'order_key' AS order_key, (details ->> 'checked_in')::int"
                           " AS checked_in FROM user_action WHERE action = 'order.refund'")
    assert [tuple(a) for a in audit] == [(p["staff"]["id"], p["key"], 1)]
