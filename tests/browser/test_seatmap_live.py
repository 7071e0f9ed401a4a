"""The live seat map in two browsers: holds show up for others and expire for everyone."""
from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in


def seat(page: Any, row: str, number: int) -> Any:
    return page.locator(f'.seat[aria-label^="Row {row} seat {number},"]')


async def test_a_hold_appears_for_the_other_browser_and_expires_for_both(
    make_client: Any, make_screening: Any, register: Any, new_page: Any
) -> None:
    client = await make_client(holds={"ttl_seconds": 2, "max_total_seconds": 10, "sweep_interval_ms": 100})
    base = base_url(client)
    screening = await make_screening(rows=3, per_row=8, kinds={("A", 1): "vip"})
    alice, bob = await register(client), await register(client)
    page_a, page_b = await new_page(), await new_page()
    await log_in(page_a, base, alice)
    await log_in(page_b, base, bob)
    url = f"{base}/screenings/{screening['screening_id']}"
    await page_a.goto(url)
    await page_b.goto(url)
    await expect(page_a.locator("#connection")).to_have_text("Live")
    await expect(page_b.locator("#connection")).to_have_text("Live")

    await seat(page_a, "B", 4).click()
    await expect(seat(page_a, "B", 4)).to_have_attribute("data-state", "mine")
    await expect(page_a.locator("#countdown")).to_be_visible()
    await expect(seat(page_b, "B", 4)).to_have_attribute("data-state", "held", timeout=1000)
    await expect(seat(page_b, "B", 4)).to_have_attribute("aria-label", "Row B seat 4, standard, £10.00, held by someone else")

    # The 2-second hold runs out: both browsers see the seat free again without a reload.
    await expect(seat(page_a, "B", 4)).to_have_attribute("data-state", "free", timeout=6000)
    await expect(seat(page_b, "B", 4)).to_have_attribute("data-state", "free", timeout=6000)
    assert page_a.js_errors == [] and page_b.js_errors == []
