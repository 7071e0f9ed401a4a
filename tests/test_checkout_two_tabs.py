"""One customer, two pending orders for the same held seats (two tabs), both paid at once.

Exactly one order sells the seats; the other fails naming them, its money is voided, and no
watcher ever sees the seats announced free while they are being sold (held -> sold, nothing between).
"""
from __future__ import annotations

import asyncio
from typing import Any

from server import keys
from server.checkout.confirm import commit_tickets, lock_seats, on_authorised, record_authorisation
from server.checkout.settle import settle_money, settle_seats
from tests.support.checkout import DEAD_WEBHOOK, SUCCESS, co_of, hold, order, pay, payment_of, wait_status
from tests.support.holds import listen

FREE = {"released", "expired", "freed"}


async def _two_orders(client: Any, make_user: Any, make_screening: Any, seats: tuple[str, ...]) -> dict[str, Any]:
    s = await make_screening(rows=1, per_row=8, orphan_rule=False)
    buyer = await make_user()
    seat_ids = [s["seats"][name] for name in seats]
    await hold(client, buyer, s["screening_id"], seat_ids)
    made = []
    for tab in ("tab-1", "tab-2"):  # each tab has its own Idempotency-Key: two orders
        resp = await order(client, buyer, s["screening_id"], seat_ids, key=f"{tab}-{seats}")
        assert resp.status == 201, await resp.text()
        made.append(await resp.json())
    return {"sid": s["screening_id"], "buyer": buyer, "seats": seat_ids, "orders": made}


async def _events_until_sold(listener: Any, seats: list[int]) -> list[tuple[str, list[int]]]:
    """Every event about these seats up to the one that sells them."""
    seen: list[tuple[str, list[int]]] = []
    while True:
        event = await listener.next(timeout=15)
        mine = sorted(set(event["seats"]) & set(seats))
        if mine:
            seen.append((event["type"], mine))
        if event["type"] == "sold" and mine == sorted(seats):
            return seen


def _check_outcome(finals: list[dict[str, Any]], seats: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    by_status = {f["status"]: f for f in finals}
    assert set(by_status) == {"paid", "failed"}, [f["status"] for f in finals]
    loser = by_status["failed"]
    # The reason names the seats the other order sold.
    assert loser["failure_reason"] == "seat_taken: seats " + ", ".join(map(str, sorted(seats)))
    return by_status["paid"], loser


async def test_the_losing_order_never_frees_seats_the_winner_is_selling(client, make_user, make_screening, pg) -> None:
    o = await _two_orders(client, make_user, make_screening, ("A3", "A4"))
    co, provider = co_of(client), client.app[keys.PAYMENTS]
    ids = [await pg.fetchval("SELECT id FROM orders WHERE order_key = $1", m["order_key"]) for m in o["orders"]]
    for i in ids:  # both cards are authorised at the provider (their webhooks are steered away: we drive the steps)
        ref = await pg.fetchval("SELECT payment_ref FROM orders WHERE id = $1", i)
        await provider.submit_card(ref, SUCCESS, DEAD_WEBHOOK)
    first, second = ids
    async with listen(client.app[keys.HOLDS], client.app[keys.REDIS], o["sid"]) as events:
        # The first order gets as far as committing its tickets ...
        assert await record_authorisation(co, first) == "authorised"
        await lock_seats(co, first)
        assert await commit_tickets(co, first)
        # ... when the second one's authorisation is confirmed, before the first marks the seats sold.
        assert await on_authorised(co, second) == "failed"
        await settle_money(co, first)
        await settle_seats(co, first)
        assert await _events_until_sold(events, o["seats"]) == [("sold", sorted(o["seats"]))]
    finals = [await wait_status(client, o["buyer"], m["order_key"]) for m in o["orders"]]
    winner, loser = _check_outcome(finals, o["seats"])
    assert winner["order_key"] == o["orders"][0]["order_key"]
    assert (await payment_of(client, pg, loser["order_key"]))["status"] == "voided"
    assert (await payment_of(client, pg, winner["order_key"]))["status"] == "captured"


async def test_two_tabs_paid_at_once_over_http(client, make_user, make_screening, pg) -> None:
    # The same race end to end, a few times: hosted page, signed webhooks, the app's own ordering.
    for round_, seats in enumerate((("A1", "A2"), ("A4", "A5"), ("A7", "A8"))):
        o = await _two_orders(client, make_user, make_screening, seats)
        async with listen(client.app[keys.HOLDS], client.app[keys.REDIS], o["sid"]) as events:
            replies = await asyncio.gather(*(pay(client, m) for m in o["orders"]))
            assert [r.status for r in replies] == [303, 303]
            seen = await _events_until_sold(events, o["seats"])
        assert not [kind for kind, _ in seen if kind in FREE], f"round {round_}: seats announced free mid-sale: {seen}"
        finals = [await wait_status(client, o["buyer"], m["order_key"]) for m in o["orders"]]
        _, loser = _check_outcome(finals, o["seats"])
        assert (await payment_of(client, pg, loser["order_key"]))["status"] == "voided"
        sold = await pg.fetchval("SELECT count(*) FROM ticket WHERE screening_id = $1 AND status = 'live'", o["sid"])
        assert sold == len(o["seats"])
