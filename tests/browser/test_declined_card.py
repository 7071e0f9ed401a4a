"""A declined card in Chromium: the buyer is told in words, keeps the held seats, and pays them with another card."""
from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import base_url, log_in, shoot

DECLINED = "Your card was declined — try another card"
PHONE = {"width": 390, "height": 844}


def seat(page: Page, row: str, number: int) -> Any:
    return page.locator(f'.seat[aria-label^="Row {row} seat {number},"]')


async def _pay_on_sandbox(page: Page, card: str) -> str:
    """Pay on the hosted page with this card (it returns to the order); returns the payment's path."""
    await expect(page).to_have_url(re.compile(r"/pay/sandbox/sbx_"))
    payment = page.url
    await page.fill("#card", card)
    await page.get_by_role("button", name=re.compile("^Pay")).click()
    await expect(page).to_have_url(re.compile(r"/orders/"))  # the hosted page returns by itself
    return payment


async def _decline_at_checkout(page: Page, base: str, screening_id: int) -> str:
    """Hold C4 and C5, go to checkout, pay with a declined card; returns the first payment's URL."""
    await page.goto(f"{base}/screenings/{screening_id}")
    await expect(page.locator("#connection")).to_have_text("Live")
    await seat(page, "C", 4).click()
    await seat(page, "C", 5).click()
    await page.locator("#checkout").click()
    await expect(page.locator("#order-seats li")).to_have_count(2)
    await page.locator("#pay").click()
    first = await _pay_on_sandbox(page, "4000 0000 0000 0002")
    await expect(page.locator("#order-status")).to_contain_text(DECLINED, timeout=15_000)
    return first


async def test_declined_card_then_another_card_from_the_order_page(
    client: Any, make_screening: Any, register: Any, new_page: Any
) -> None:
    base = base_url(client)
    screening = await make_screening(rows=4, per_row=8)
    page, phone = await new_page(viewport={"width": 1366, "height": 900}), await new_page(viewport=PHONE)
    user = await register(client)
    await log_in(page, base, user)
    first = await _decline_at_checkout(page, base, screening["screening_id"])

    status = page.locator("#order-status")
    await expect(status).to_contain_text("still held for you until")
    await expect(status).not_to_contain_text("released")
    await expect(page.locator(".order .failure")).to_have_text(DECLINED + ".")
    await expect(page.locator(".order")).not_to_contain_text("card_declined")
    await shoot(page, "order-declined")
    await log_in(phone, base, user)
    await phone.goto(page.url)
    await expect(phone.locator("#retry-payment")).to_be_visible()
    await shoot(phone, "order-declined-phone")

    await page.get_by_role("button", name="Try another card").click()
    second = await _pay_on_sandbox(page, "4242 4242 4242 4242")
    assert second != first  # a new payment for a new order, not the declined one
    await expect(page.locator("#order-status")).to_contain_text("Enjoy the film", timeout=15_000)
    await expect(page.locator(".ticket-qr img")).to_have_count(2)
    assert page.js_errors == [] and phone.js_errors == []


async def test_pay_now_after_a_decline_opens_a_new_payment(
    client: Any, make_screening: Any, register: Any, new_page: Any
) -> None:
    base = base_url(client)
    screening = await make_screening(rows=4, per_row=8)
    page = await new_page()
    await log_in(page, base, await register(client))
    first = await _decline_at_checkout(page, base, screening["screening_id"])

    # Back on checkout, the seats are still held and "Pay now" starts over, not the failed order.
    await page.goto(f"{base}/checkout/{screening['screening_id']}")
    await expect(page.locator("#order-seats li")).to_have_count(2)
    await page.locator("#pay").click()
    second = await _pay_on_sandbox(page, "4242 4242 4242 4242")
    assert second != first
    await expect(page.locator("#order-status")).to_contain_text("Enjoy the film", timeout=15_000)
    assert page.js_errors == []
