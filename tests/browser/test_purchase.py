"""A moviegoer's whole journey: home page to a QR ticket, then a cancellation that frees the seats."""
from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in, shoot


def seat(page: Any, row: str, number: int) -> Any:
    return page.locator(f'.seat[aria-label^="Row {row} seat {number},"]')


async def test_buy_from_the_home_page_to_a_qr_ticket_then_cancel(
    client: Any, make_screening: Any, register: Any, new_page: Any
) -> None:
    base = base_url(client)
    screening = await make_screening(rows=4, per_row=8)
    page, watcher = await new_page(), await new_page()
    await log_in(page, base, await register(client))
    await watcher.goto(f"{base}/screenings/{screening['screening_id']}")  # a guest watching the same map

    await page.goto(f"{base}/")
    await page.get_by_role("link", name=re.compile("Test Movie")).click()
    await page.locator(".times a").first.click()
    await expect(page.locator("#connection")).to_have_text("Live")
    await seat(page, "C", 4).click()
    await seat(page, "C", 5).click()
    await expect(page.locator("#total")).to_have_text("£20.00")
    await page.locator("#checkout").click()

    await expect(page.locator("#order-total")).to_have_text("£20.00")
    await expect(page.locator("#order-seats li")).to_have_count(2)
    await shoot(page, "checkout")
    await page.locator("#pay").click()
    # The provider's page: the app's money format and the hold's countdown; after paying it returns
    # to the order by itself, as a hosted page does.
    await expect(page).to_have_url(re.compile(r"/pay/sandbox/"))
    await expect(page.get_by_role("heading", name="Pay £20.00")).to_be_visible()
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^0[78]:\d\d$"))
    await shoot(page, "sandbox-pay")
    await page.fill("#card", "4242 4242 4242 4242")
    await page.get_by_role("button", name=re.compile("^Pay")).click()
    await expect(page).to_have_url(re.compile(r"/orders/[0-9A-Z-]+$"))

    await expect(page.locator("#order-status")).to_contain_text("Enjoy the film", timeout=15_000)
    await expect(page.locator(".ticket-qr img")).to_have_count(2)
    await expect(page.locator(".ticket-qr img").first).to_have_js_property("complete", True)
    assert await page.locator(".ticket-qr img").first.evaluate("img => img.naturalWidth > 0")
    await expect(seat(watcher, "C", 4)).to_have_attribute("data-state", "sold")
    await shoot(page, "order-paid")

    await page.goto(f"{base}/tickets")
    await expect(page.locator(".order")).to_have_count(1)
    await shoot(page, "tickets")
    # The cancel action sits below the tickets and asks first, saying what it does.
    await page.get_by_role("button", name="Cancel order…").click()
    await expect(page.locator(".cancel-confirm")).to_contain_text("£20.00 is refunded")
    await page.get_by_role("button", name="Yes, cancel and refund").click()
    await expect(page.locator(".order-status")).to_have_text(re.compile("Cancelled|Refunded"))
    await expect(page.locator(".ticket-qr")).to_have_count(0)
    # The watcher sees the seats free again, live.
    await expect(seat(watcher, "C", 4)).to_have_attribute("data-state", "free")
    await expect(seat(watcher, "C", 5)).to_have_attribute("data-state", "free")
    assert page.js_errors == [] and watcher.js_errors == []
