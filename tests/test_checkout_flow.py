"""Checkout end to end over real HTTP: hold -> order -> hosted page -> signed webhook -> tickets."""
from __future__ import annotations

import asyncio
import datetime as dt

from server import keys
from tests.support.checkout import (
    DECLINE, ERROR, NO_FUNDS, SLOW, get_order, hold, live_tickets, new_order, order, pay, payment_of, snapshot,
    wait_status,
)
from tests.support.clocks import around_midnight


async def test_happy_path_hold_to_ticket_to_check_in(client, make_user, make_screening, pg) -> None:
    s = await make_screening(kinds={("A", 5): "vip"}, orphan_rule=False)
    buyer, staff = await make_user(), await make_user("staff")
    seats = [s["seats"]["A4"], s["seats"]["A5"]]
    created = await new_order(client, buyer, s["screening_id"], seats)
    assert created["status"] == "pending" and created["amount"] == 1000 + 1500
    assert created["currency"] == "GBP" and len(created["order_key"]) == 10
    assert [x["price"] for x in created["seats"]] == [1000, 1500]

    page = await client.get(created["payment_url"])
    text = await page.text()
    assert page.status == 200 and "Pay £25.00" in text and "4000 0000 0000 0002" in text
    resp = await pay(client, created)
    # Back to the shop by itself, as a hosted payment page does.
    assert resp.status == 303 and resp.headers["Location"] == f"/orders/{created['order_key']}"

    done = await wait_status(client, buyer, created["order_key"])
    assert done["status"] == "paid" and done["failure_reason"] is None
    assert sorted(t["seat_id"] for t in done["tickets"]) == sorted(seats)
    assert all(t["qr_svg"].startswith("data:image/svg+xml") for t in done["tickets"])
    assert done["screening"]["movie_title"] == "Test Movie"
    # Money: authorised once, captured once. Seats: sold in Redis, live tickets in PostgreSQL.
    payment = await payment_of(client, pg, created["order_key"])
    assert (payment["status"], payment["captures"]) == ("captured", 1)
    assert await live_tickets(pg, s["screening_id"]) == sorted(seats)
    snap = await snapshot(client, s["screening_id"], buyer)
    assert set(seats) <= set(snap["sold"]) and not snap["mine"]
    events = await pg.fetch("SELECT from_status, to_status FROM order_event ORDER BY id")
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "pending"), ("pending", "authorised"), ("authorised", "paid")]

    mine = await (await client.get("/api/orders", headers=buyer["headers"])).json()
    assert [o["order_key"] for o in mine["orders"]] == [created["order_key"]]
    ticket = done["tickets"][0]
    qr = await client.get(ticket["qr_url"], headers=buyer["headers"])
    assert qr.status == 200 and qr.content_type == "image/svg+xml" and "<svg" in await qr.text()
    stranger = await make_user()
    assert (await client.get(ticket["qr_url"], headers=stranger["headers"])).status == 404

    first = await client.post("/api/checkin", json={"code": ticket["code"]}, headers=staff["headers"])
    assert (await first.json())["result"] == "valid"
    second = await client.post("/api/checkin", json={"code": ticket["code"]}, headers=staff["headers"])
    assert (await second.json())["result"] == "already_used"
    forged = ticket["code"][:-1] + ("A" if ticket["code"][-1] != "A" else "B")
    third = await client.post("/api/checkin", json={"code": forged}, headers=staff["headers"])
    assert (await third.json())["result"] == "invalid"
    assert (await client.post("/api/checkin", json={"code": ticket["code"]},
                              headers=buyer["headers"])).status == 403


@around_midnight
async def test_a_sale_is_recorded_at_the_apps_time_in_our_books_and_the_providers(
    client, make_user, make_screening, pg, clock
) -> None:
    # The clock is years from the wall's: a time taken from PostgreSQL's now() would stand out,
    # and a webhook due by one clock but looked for by another would never be delivered.
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["A1"]])
    await pay(client, created)
    assert (await wait_status(client, buyer, created["order_key"]))["status"] == "paid"
    key = created["order_key"]
    times = await pg.fetchrow(
        "SELECT o.created_at, o.updated_at, p.created_at AS paid_created, p.updated_at AS paid_updated,"
        " (SELECT max(created_at) FROM ticket WHERE order_id = o.id) AS ticket_created,"
        " (SELECT max(created_at) FROM order_event WHERE order_id = o.id) AS last_event"
        " FROM orders o JOIN sandbox_payment p ON p.id = o.payment_ref WHERE o.order_key = $1", key)
    for name, at in times.items():
        assert abs((at - clock.now()).total_seconds()) < 60, (name, at, clock.now())


async def test_simultaneous_scans_check_in_once(client, make_user, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    buyer, staff = await make_user(), await make_user("staff")
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["B2"]])
    await pay(client, created)
    code = (await wait_status(client, buyer, created["order_key"]))["tickets"][0]["code"]
    replies = await asyncio.gather(*(client.post("/api/checkin", json={"code": code}, headers=staff["headers"])
                                     for _ in range(5)))
    results = sorted([(await r.json())["result"] for r in replies])
    assert results == ["already_used"] * 4 + ["valid"]


async def test_an_order_key_typed_at_the_door_admits_the_whole_order_once(client, make_user, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    buyer, staff = await make_user(), await make_user("staff")
    seats = [s["seats"]["C3"], s["seats"]["C4"], s["seats"]["C5"]]
    created = await new_order(client, buyer, s["screening_id"], seats)
    await pay(client, created)
    done = await wait_status(client, buyer, created["order_key"])
    # One ticket was already scanned at the door; the key admits the other two.
    first_code = done["tickets"][0]["code"]
    assert (await (await client.post("/api/checkin", json={"code": first_code},
                                     headers=staff["headers"])).json())["result"] == "valid"

    typed = "-".join([created["order_key"][:5].lower(), created["order_key"][5:].lower()])
    reply = await (await client.post("/api/checkin", json={"code": typed}, headers=staff["headers"])).json()
    assert reply["result"] == "valid" and len(reply["tickets"]) == 2
    again = await (await client.post("/api/checkin", json={"code": created["order_key"]},
                                     headers=staff["headers"])).json()
    assert again["result"] == "already_used" and len(again["tickets"]) == 3
    unknown = await (await client.post("/api/checkin", json={"code": "ZZZZZZZZZZ"},
                                       headers=staff["headers"])).json()
    assert unknown["result"] == "invalid"


async def test_declined_cards_fail_the_order_and_keep_the_hold(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    for card, reason, seat in ((DECLINE, "card_declined", "A1"), (NO_FUNDS, "insufficient_funds", "A3"),
                               (ERROR, "provider_error", "A5")):
        buyer = await make_user()
        created = await new_order(client, buyer, s["screening_id"], [s["seats"][seat]])
        await pay(client, created, card)
        done = await wait_status(client, buyer, created["order_key"])
        assert (done["status"], done["failure_reason"], done["tickets"]) == ("failed", reason, [])
        # No money moved, and the buyer may try again: the seat is still theirs.
        payment = await payment_of(client, pg, created["order_key"])
        assert payment["captures"] == 0 and payment["authorisations"] == 0
        assert s["seats"][seat] in (await snapshot(client, s["screening_id"], buyer))["mine"]
    assert await live_tickets(pg, s["screening_id"]) == []


async def test_a_declined_card_is_retried_on_the_same_held_seats(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    seats = [s["seats"]["C1"], s["seats"]["C2"]]
    created = await new_order(client, buyer, s["screening_id"], seats)
    await pay(client, created, DECLINE)
    failed = await wait_status(client, buyer, created["order_key"])
    # The buyer is told in words, and that the seats are still theirs until the hold's deadline.
    assert failed["failure_message"] == "Your card was declined — try another card."
    mine = await snapshot(client, s["screening_id"], buyer)
    assert sorted(mine["mine"]) == seats
    assert failed["retry_until"] == dt.datetime.fromtimestamp(mine["deadline"] / 1000, dt.timezone.utc).isoformat()
    # The retry is a new order for the same seats; asking twice (a double click) makes one.
    retry_key = f"retry-{created['order_key']}"
    again = await order(client, buyer, s["screening_id"], seats, key=retry_key)
    assert again.status == 201
    retried = await again.json()
    twice = await order(client, buyer, s["screening_id"], seats, key=retry_key)
    assert twice.status == 200 and (await twice.json())["order_key"] == retried["order_key"]
    assert retried["status"] == "pending" and retried["payment_url"] != created["payment_url"]
    await pay(client, retried)
    paid = await wait_status(client, buyer, retried["order_key"])
    assert paid["status"] == "paid" and sorted(t["seat_id"] for t in paid["tickets"]) == seats
    # Now the seats are sold, the failed order offers no retry and says why.
    after = await get_order(client, buyer, created["order_key"])
    assert after["retry_until"] is None and "no longer held" in after["failure_message"]


async def test_unknown_card_is_refused_on_the_page(client, make_user, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["A1"]])
    resp = await pay(client, created, "1234 5678 9012 3456")
    assert resp.status == 400 and "test cards" in await resp.text()
    assert (await get_order(client, buyer, created["order_key"]))["status"] == "pending"


async def test_slow_payment_confirms_later(make_client, make_user, make_screening) -> None:
    client = await make_client(checkout={"sandbox_slow_seconds": 1.0})
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["C3"]])
    assert (await pay(client, created, SLOW)).status == 303
    page = await client.get(created["payment_url"])
    assert 'data-status="authorised"' in await page.text()
    # The provider has not told the app yet: the order waits.
    assert (await get_order(client, buyer, created["order_key"]))["status"] == "pending"
    done = await wait_status(client, buyer, created["order_key"])
    assert done["status"] == "paid"


async def test_paying_twice_on_the_page_is_refused(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["A2"]])
    first, second = await asyncio.gather(pay(client, created), pay(client, created))
    assert sorted([first.status, second.status]) == [303, 400]
    await wait_status(client, buyer, created["order_key"])
    payment = await payment_of(client, pg, created["order_key"])
    assert (payment["authorisations"], payment["captures"]) == (1, 1)


async def test_hold_expired_but_seat_still_free_is_booked(make_client, make_user, make_screening, pg) -> None:
    client = await make_client(holds={"ttl_seconds": 1, "max_total_seconds": 1, "sweep_interval_ms": 50})
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    seat = s["seats"]["D4"]
    created = await new_order(client, buyer, s["screening_id"], [seat])
    holds = client.app[keys.HOLDS]
    await _until(lambda: _not_mine(holds, s["screening_id"], buyer, seat))
    await pay(client, created)
    done = await wait_status(client, buyer, created["order_key"])
    assert done["status"] == "paid"
    assert await live_tickets(pg, s["screening_id"]) == [seat]


async def test_hold_expired_and_seat_taken_is_voided(make_client, make_user, make_screening, pg) -> None:
    client = await make_client(holds={"ttl_seconds": 1, "max_total_seconds": 1, "sweep_interval_ms": 50})
    s = await make_screening(orphan_rule=False)
    buyer, rival = await make_user(), await make_user()
    seat = s["seats"]["D5"]
    created = await new_order(client, buyer, s["screening_id"], [seat])
    holds = client.app[keys.HOLDS]
    await _until(lambda: _not_mine(holds, s["screening_id"], buyer, seat))
    await hold(client, rival, s["screening_id"], [seat])
    await pay(client, created)
    done = await wait_status(client, buyer, created["order_key"])
    assert done["status"] == "failed" and done["failure_reason"].startswith("seat_taken")
    payment = await payment_of(client, pg, created["order_key"])
    assert (payment["status"], payment["captures"], payment["voids"]) == ("voided", 0, 1)
    assert await live_tickets(pg, s["screening_id"]) == []
    # The rival's hold is untouched.
    assert seat in (await snapshot(client, s["screening_id"], rival))["mine"]


async def test_a_payment_after_the_show_started_issues_no_ticket(client, make_user, make_screening, pg) -> None:
    # Held and ordered before the start; the card goes through a few seconds after it.
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["B2"], s["seats"]["B3"]])
    await pg.execute("UPDATE screening SET starts_at = now() - interval '5 seconds' WHERE id = $1", s["screening_id"])
    await pay(client, created)
    done = await wait_status(client, buyer, created["order_key"])
    assert (done["status"], done["failure_reason"], done["tickets"]) == ("failed", "screening_closed", [])
    payment = await payment_of(client, pg, created["order_key"])
    assert (payment["status"], payment["captures"], payment["voids"]) == ("voided", 0, 1)
    assert await live_tickets(pg, s["screening_id"]) == []


async def _not_mine(holds, screening_id: int, user, seat: int) -> bool:
    return seat not in (await holds.my_holds(screening_id, f"u{user['id']}"))["seats"]


async def _until(check, timeout: float = 10.0) -> None:
    """Wait for a condition driven by Redis data (hold expiry), with a timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
