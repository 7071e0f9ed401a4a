"""50 buyers race to pay for overlapping seats: no seat is sold twice and every loser gets the money back."""
from __future__ import annotations

import asyncio
import random

from server import keys
from tests.support.checkout import hold, order, pay, payment_of, snapshot, wait_status

BUYERS = 50


async def test_fifty_buyers_racing_for_overlapping_seats(client, make_user, make_screening, pg) -> None:
    s = await make_screening(rows=1, per_row=12, orphan_rule=False)
    sid = s["screening_id"]
    seat_ids = list(s["seats"].values())
    holds = client.app[keys.HOLDS]
    rng = random.Random(7)
    buyers, orders = [], []
    # Each buyer holds 1-3 seats and orders them, then lets go (as if their hold lapsed), so the
    # next buyer can order overlapping seats: 50 pending orders fight over 12 seats.
    for _ in range(BUYERS):
        buyer = await make_user()
        wanted = sorted(rng.sample(seat_ids, rng.randint(1, 3)))
        await hold(client, buyer, sid, wanted)
        resp = await order(client, buyer, sid, wanted)
        assert resp.status == 201, await resp.text()
        buyers.append(buyer)
        orders.append(await resp.json())
        await holds.release(sid, f"u{buyer['id']}", None)

    replies = await asyncio.gather(*(pay(client, o) for o in orders))
    assert all(r.status == 303 for r in replies)
    finals = await asyncio.gather(*(wait_status(client, b, o["order_key"], timeout=60)
                                    for b, o in zip(buyers, orders)))

    sold: list[int] = []
    for final in finals:
        payment = await payment_of(client, pg, final["order_key"])
        if final["status"] == "paid":
            sold += [t["seat_id"] for t in final["tickets"]]
            assert (payment["status"], payment["captures"]) == ("captured", 1)
        else:
            assert final["status"] == "failed" and final["failure_reason"].startswith("seat_taken")
            assert (payment["status"], payment["captures"], payment["voids"]) == ("voided", 0, 1)
    assert len(sold) == len(set(sold)), "a seat was sold twice"
    assert sold, "somebody must have won"
    live = [r["seat_id"] for r in await pg.fetch("SELECT seat_id FROM ticket WHERE status = 'live'")]
    assert sorted(live) == sorted(sold)
    snap = await snapshot(client, sid)
    assert sorted(snap["sold"]) == sorted(sold) and snap["held"] == []
    # Every order's money agrees with its seats.
    unsettled = await pg.fetchval(
        "SELECT count(*) FROM orders WHERE seats_pending OR (status = 'paid' AND NOT captured)"
        " OR (status = 'failed' AND authorised AND NOT voided)")
    assert unsettled == 0
