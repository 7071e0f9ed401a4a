"""The waiting list in Chromium: join from the sold-out seat map, then the seats come to you."""
from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in, shoot
from tests.support.checkout import new_order, pay, wait_status


async def test_join_from_the_houseful_map_and_get_the_seats_that_come_free(
        client: Any, make_screening: Any, make_user: Any, register: Any, new_page: Any, pg: Any) -> None:
    base = base_url(client)
    sc = await make_screening(rows=2, per_row=4, orphan_rule=False)
    sid = sc["screening_id"]
    buyer = await make_user()
    created = await new_order(client, buyer, sid, list(sc["seats"].values())[:8])
    await pay(client, created)
    await wait_status(client, buyer, created["order_key"], {"paid"})

    page = await new_page()
    await log_in(page, base, await register(client))
    await page.goto(f"{base}/screenings/{sid}")
    await expect(page.locator("#houseful")).to_be_visible()
    await expect(page.locator("#waitlist")).to_contain_text("Join the waiting list")
    await page.fill("#waitlist-seats", "2")
    await page.get_by_role("button", name="Join the waiting list").click()
    await expect(page.locator("#waitlist-place")).to_have_text("You are number 1 in line")
    await shoot(page, "seatmap-waitlist")
    phone = await new_page(viewport={"width": 390, "height": 844})
    await log_in(phone, base, await register(client))
    await phone.goto(f"{base}/screenings/{sid}")
    await expect(phone.locator("#waitlist")).to_contain_text("Join the waiting list")
    await shoot(phone, "seatmap-waitlist-phone")

    # The buyer is refunded: two seats go straight to the customer in line, live on their map.
    staff = await make_user("staff")
    resp = await client.post(f"/api/orders/{created['order_key']}/refund", headers=staff["headers"])
    assert resp.status == 200
    await expect(page.locator('.seat[data-state="mine"]')).to_have_count(2)  # all 8 seats came free; 2 wanted
    await expect(page.locator("#waitlist")).to_contain_text("Seats came free for you!")
    await expect(page.locator("#checkout")).to_have_attribute("aria-disabled", "false")
    await shoot(page, "seatmap-waitlist-offer")
    assert await pg.fetchval("SELECT status FROM waitlist_entry") == "offered"
    assert page.js_errors == [] and phone.js_errors == []
