"""A crash after each step (the steps are called directly, then we stop), then the reconciler: consistent."""
from __future__ import annotations

from typing import Any

import pytest

from server import keys
from server.checkout import confirm, orders, settle
from server.checkout.reconciler import reconcile
from server.keyspace import KeySpace
from tests.support.checkout import DEAD_WEBHOOK, co_of, hold, new_order, order, pay, snapshot, wait_status


async def _authorised_order(client, make_user, make_screening, pg, seats=("A1", "A2")) -> dict[str, Any]:
    """An order the buyer paid for whose webhook never arrived (the app 'crashed' before it)."""
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    seat_ids = [s["seats"][n] for n in seats]
    created = await new_order(client, buyer, s["screening_id"], seat_ids)
    row = await pg.fetchrow("SELECT id, payment_ref FROM orders WHERE order_key = $1", created["order_key"])
    await client.app[keys.PAYMENTS].submit_card(row["payment_ref"], "4242424242424242", DEAD_WEBHOOK)
    return {"screening": s, "buyer": buyer, "seats": seat_ids, "key": created["order_key"], "id": row["id"],
            "ref": row["payment_ref"]}


async def _assert_paid_and_consistent(client, pg, o: dict[str, Any]) -> None:
    row = await pg.fetchrow("SELECT * FROM orders WHERE id = $1", o["id"])
    assert (row["status"], row["captured"], row["seats_pending"]) == ("paid", True, False)
    payment = await client.app[keys.PAYMENTS].payment(o["ref"])
    assert (payment["status"], payment["captures"]) == ("captured", 1)
    live = await pg.fetch("SELECT seat_id FROM ticket WHERE order_id = $1 AND status = 'live'", o["id"])
    assert sorted(r["seat_id"] for r in live) == sorted(o["seats"])
    snap = await snapshot(client, o["screening"]["screening_id"])
    assert set(o["seats"]) <= set(snap["sold"]) and not set(o["seats"]) & set(snap["held"])


STEPS = ["record_authorisation", "lock_seats", "commit_tickets", "capture"]


@pytest.mark.parametrize("crash_after", STEPS)
async def test_crash_during_confirmation_then_reconcile(crash_after, client, make_user, make_screening, pg) -> None:
    o = await _authorised_order(client, make_user, make_screening, pg)
    co = co_of(client)
    for step in STEPS[: STEPS.index(crash_after) + 1]:
        fn = {"record_authorisation": confirm.record_authorisation, "lock_seats": confirm.lock_seats,
              "commit_tickets": confirm.commit_tickets, "capture": settle.capture}[step]
        await fn(co, o["id"])
    # ...crash. On restart the reconciler finishes the job; running it again changes nothing.
    await reconcile(co, grace_seconds=0)
    await _assert_paid_and_consistent(client, pg, o)
    events = await pg.fetchval("SELECT count(*) FROM order_event WHERE order_id = $1", o["id"])
    await reconcile(co, grace_seconds=0)
    await _assert_paid_and_consistent(client, pg, o)
    assert await pg.fetchval("SELECT count(*) FROM order_event WHERE order_id = $1", o["id"]) == events


async def test_crash_after_deciding_a_failed_sale_then_reconcile(client, make_user, make_screening, pg) -> None:
    o = await _authorised_order(client, make_user, make_screening, pg)
    co = co_of(client)
    await confirm.record_authorisation(co, o["id"])
    await confirm.lock_seats(co, o["id"])
    await confirm.mark_failed(co, o["id"], "seat_taken")  # ...crash before void and unlock
    await reconcile(co, grace_seconds=0)
    row = await pg.fetchrow("SELECT * FROM orders WHERE id = $1", o["id"])
    assert (row["status"], row["voided"], row["seats_pending"]) == ("failed", True, False)
    assert (await client.app[keys.PAYMENTS].payment(o["ref"]))["status"] == "voided"
    snap = await snapshot(client, o["screening"]["screening_id"])
    assert not set(o["seats"]) & (set(snap["held"]) | set(snap["sold"]))


async def test_crash_after_cancelling_then_reconcile(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["B1"]])
    await pay(client, created)
    await wait_status(client, buyer, created["order_key"])
    co = co_of(client)
    await orders.mark_undone(co, created["order_key"], "cancelled", buyer["id"], "test")  # ...crash
    await reconcile(co, grace_seconds=0)
    row = await pg.fetchrow("SELECT * FROM orders WHERE order_key = $1", created["order_key"])
    assert (row["status"], row["refunded"], row["seats_pending"]) == ("cancelled", True, False)
    assert s["seats"]["B1"] not in (await snapshot(client, s["screening_id"]))["sold"]


async def test_pending_order_past_expiry_is_expired_and_its_session_closed(client, make_user, make_screening,
                                                                           pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["C1"]])
    await client.app[keys.HOLDS].release(s["screening_id"], f"u{buyer['id']}", None)  # the hold ran out
    await pg.execute("UPDATE orders SET expires_at = now() - interval '1 second'")
    await reconcile(co_of(client), grace_seconds=0)
    row = await pg.fetchrow("SELECT status, failure_reason FROM orders")
    assert (row["status"], row["failure_reason"]) == ("expired", "hold expired")
    resp = await pay(client, created)
    assert resp.status == 400  # the session is closed: no money can be taken for a dead order


async def test_the_grace_spares_in_flight_steps_but_a_deadline_is_a_deadline(client, make_user, make_screening,
                                                                           pg) -> None:
    # docs/checkout.md "Crash safety": authorised and unsettled orders are left alone while
    # touched within the grace (a live request may be finishing them); a pending order is judged
    # by its hold's deadline only, however recently it was touched.
    o = await _authorised_order(client, make_user, make_screening, pg)
    co = co_of(client)
    await confirm.record_authorisation(co, o["id"])  # a webhook is confirming it right now
    s = await make_screening(orphan_rule=False)
    late = await make_user()
    created = await new_order(client, late, s["screening_id"], [s["seats"]["C2"]])
    await client.app[keys.HOLDS].release(s["screening_id"], f"u{late['id']}", None)  # the hold ran out
    await pg.execute("UPDATE orders SET expires_at = now() - interval '1 second', updated_at = now()"
                     " WHERE order_key = $1", created["order_key"])
    done = await reconcile(co, grace_seconds=60)
    assert (done["confirmed"], done["expired"]) == (0, 1)
    statuses = dict(await pg.fetch("SELECT order_key, status FROM orders"))
    assert statuses == {o["key"]: "authorised", created["order_key"]: "expired"}
    await reconcile(co, grace_seconds=0)  # once the grace is over, the stuck confirmation is finished
    await _assert_paid_and_consistent(client, pg, o)


async def test_paid_just_before_expiry_is_confirmed_not_expired(client, make_user, make_screening, pg) -> None:
    o = await _authorised_order(client, make_user, make_screening, pg)
    await pg.execute("UPDATE orders SET expires_at = now() - interval '1 second'")
    await reconcile(co_of(client), grace_seconds=0)
    await _assert_paid_and_consistent(client, pg, o)


async def test_sold_cache_missing_a_ticket_is_rebuilt(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["D1"]])
    await pay(client, created)
    await wait_status(client, buyer, created["order_key"])
    sold_key = KeySpace(client.app[keys.SETTINGS].redis.key_prefix).screening(s["screening_id"], "sold")
    await client.app[keys.REDIS].srem(sold_key, str(s["seats"]["D1"]))
    assert s["seats"]["D1"] not in (await snapshot(client, s["screening_id"]))["sold"]
    done = await reconcile(co_of(client), grace_seconds=0)
    assert done["sold_rebuilt"] == 1
    assert s["seats"]["D1"] in (await snapshot(client, s["screening_id"]))["sold"]


async def test_cancel_landing_while_confirmation_finishes(client, make_user, make_screening, pg) -> None:
    o = await _authorised_order(client, make_user, make_screening, pg)
    co = co_of(client)
    for step in (confirm.record_authorisation, confirm.lock_seats, confirm.commit_tickets):
        await step(co, o["id"])
    # The buyer cancels between the ticket commit and the capture / mark_sold of the confirmation...
    resp = await client.post(f"/api/orders/{o['key']}/cancel", headers=o["buyer"]["headers"])
    assert resp.status == 200
    # ...which then resumes: money and seats must still agree with "cancelled".
    await settle.settle_money(co, o["id"])
    await settle.settle_seats(co, o["id"])
    await reconcile(co, grace_seconds=0)
    row = await pg.fetchrow("SELECT * FROM orders WHERE id = $1", o["id"])
    assert (row["status"], row["seats_pending"]) == ("cancelled", False)
    payment = await client.app[keys.PAYMENTS].payment(o["ref"])
    assert payment["status"] == "voided" and payment["captures"] == 0
    snap = await snapshot(client, o["screening"]["screening_id"])
    assert not set(o["seats"]) & (set(snap["held"]) | set(snap["sold"]))


async def test_pending_order_follows_an_extended_hold(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["C2"]])
    await pg.execute("UPDATE orders SET expires_at = now() - interval '1 second'")
    await reconcile(co_of(client), grace_seconds=0)  # the hold itself still runs: keep the order
    row = await pg.fetchrow("SELECT status, expires_at > now() AS alive FROM orders")
    assert (row["status"], row["alive"]) == ("pending", True)
    assert (await pay(client, created)).status == 303
    assert (await wait_status(client, buyer, created["order_key"]))["status"] == "paid"


async def test_crash_between_the_order_and_its_payment_session(client, make_user, make_screening, pg) -> None:
    # Step 1 (the order) commits before the provider is called (step 2, outside any transaction).
    # A crash between them leaves a pending order without a session, as this UPDATE does.
    s = await make_screening(orphan_rule=False)
    buyer, seats = await make_user(), [s["seats"]["D1"]]
    await hold(client, buyer, s["screening_id"], seats)
    first = await order(client, buyer, s["screening_id"], seats, key="crash-before-session")
    assert first.status == 201
    await pg.execute("UPDATE orders SET payment_ref = NULL, payment_url = NULL")
    # The buyer's retry (same Idempotency-Key) opens the session, and the order can be paid.
    retry = await order(client, buyer, s["screening_id"], seats, key="crash-before-session")
    created = await retry.json()
    assert retry.status == 200 and created["payment_url"].startswith("/pay/sandbox/")
    assert (await pay(client, created)).status == 303
    assert (await wait_status(client, buyer, created["order_key"]))["status"] == "paid"

    # Without a retry, the reconciler ends such an order at its deadline (no session to close).
    other, seat = await make_user(), [s["seats"]["D3"]]
    await hold(client, other, s["screening_id"], seat)
    assert (await order(client, other, s["screening_id"], seat)).status == 201
    await client.app[keys.HOLDS].release(s["screening_id"], f"u{other['id']}", None)
    await pg.execute("UPDATE orders SET payment_ref = NULL, payment_url = NULL, expires_at = now() - interval '1 s'"
                     " WHERE user_id = $1", other["id"])
    await reconcile(co_of(client), grace_seconds=0)
    row = await pg.fetchrow("SELECT status, payment_ref FROM orders WHERE user_id = $1", other["id"])
    assert (row["status"], row["payment_ref"]) == ("expired", None)
