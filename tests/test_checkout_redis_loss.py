"""Losing Redis loses no money: the payment provider's books live in PostgreSQL, and an order whose
payment the provider does not know is expired as never paid instead of staying pending forever.

(The kill -9 of a real Redis during a burst is tests/test_faults.py; here every key of the run is
dropped, which is what a restart without persistence leaves.)
"""
from __future__ import annotations

from typing import Any

from server import keys
from server.checkout.reconciler import reconcile
from tests.support.checkout import DEAD_WEBHOOK, SUCCESS, co_of, new_order, pay, payment_of, wait_status


async def _lose_redis(redis: Any, prefix: str) -> None:
    keys_ = [k async for k in redis.scan_iter(match=prefix + "*", count=1000)]
    if keys_:
        await redis.unlink(*keys_)


async def test_a_pending_order_can_still_be_paid_after_redis_lost_everything(
        client, make_user, make_screening, pg, redis, settings) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    seats = [s["seats"]["A1"], s["seats"]["A2"]]
    created = await new_order(client, buyer, s["screening_id"], seats)
    await _lose_redis(redis, settings.redis.key_prefix)
    page = await client.get(created["payment_url"])
    assert page.status == 200  # the hosted page still knows the payment
    assert (await pay(client, created)).status == 303
    done = await wait_status(client, buyer, created["order_key"])
    assert done["status"] == "paid" and sorted(t["seat_id"] for t in done["tickets"]) == seats
    payment = await payment_of(client, pg, created["order_key"])
    assert (payment["status"], payment["authorisations"], payment["captures"]) == ("captured", 1, 1)


async def test_an_authorised_payment_is_captured_with_tickets_after_redis_lost_everything(
        client, make_user, make_screening, pg, redis, settings) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["B1"]])
    ref = await pg.fetchval("SELECT payment_ref FROM orders WHERE order_key = $1", created["order_key"])
    await client.app[keys.PAYMENTS].submit_card(ref, SUCCESS, DEAD_WEBHOOK)  # authorised; webhook lost
    await _lose_redis(redis, settings.redis.key_prefix)
    await pg.execute("UPDATE orders SET expires_at = now() - interval '1 second'")
    await reconcile(co_of(client), grace_seconds=0)
    row = await pg.fetchrow("SELECT status, captured FROM orders")
    assert (row["status"], row["captured"]) == ("paid", True)
    assert await pg.fetchval("SELECT count(*) FROM ticket WHERE status = 'live'") == 1


async def test_a_payment_the_provider_does_not_know_expires_the_order_once(
        client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["C1"]])
    await client.app[keys.HOLDS].release(s["screening_id"], f"u{buyer['id']}", None)
    # The provider lost the payment (an adapter's account reset, a sandbox wiped by hand).
    await pg.execute("DELETE FROM sandbox_payment")
    await pg.execute("UPDATE orders SET expires_at = now() - interval '1 second'")
    co = co_of(client)
    assert (await reconcile(co, grace_seconds=0))["expired"] == 1
    row = await pg.fetchrow("SELECT status, failure_reason FROM orders")
    assert (row["status"], row["failure_reason"]) == ("expired", "hold expired")
    assert (await reconcile(co, grace_seconds=0))["expired"] == 0  # nothing left to retry every pass
