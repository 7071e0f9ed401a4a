"""The seat map without a mouse, and a guest's picks surviving the trip through the login page."""
from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in


def seat(page: Any, row: str, number: int) -> Any:
    return page.locator(f'.seat[aria-label^="Row {row} seat {number},"]')


async def focused_label(page: Any) -> str:
    return await page.evaluate("document.activeElement.getAttribute('aria-label') || ''")


async def test_keyboard_only_seat_selection(client: Any, make_screening: Any, register: Any, new_page: Any) -> None:
    base = base_url(client)
    screening = await make_screening(rows=3, per_row=8, kinds={("C", 3): "vip"}, prices={"standard": 1000, "vip": 1800})
    page = await new_page()
    await log_in(page, base, await register(client))
    await page.goto(f"{base}/screenings/{screening['screening_id']}")
    await expect(page.locator("#connection")).to_have_text("Live")

    for _ in range(30):  # Tab through the page until the seat map takes focus (one tab stop)
        await page.keyboard.press("Tab")
        if (await focused_label(page)).startswith("Row "):
            break
    assert await focused_label(page) == "Row B seat 1, standard, £10.00, free"
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        await page.keyboard.press(key)
    assert await focused_label(page) == "Row C seat 3, VIP, £18.00, free"

    await page.keyboard.press("Enter")
    await expect(seat(page, "C", 3)).to_have_attribute("aria-label", "Row C seat 3, VIP, £18.00, held by you")
    await expect(seat(page, "C", 3)).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#total")).to_have_text("£18.00")
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press(" ")
    await expect(seat(page, "C", 4)).to_have_attribute("data-state", "mine")
    await expect(page.locator("#total")).to_have_text("£28.00")

    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press(" ")  # Space on a held seat of mine releases it
    await expect(seat(page, "C", 3)).to_have_attribute("data-state", "free")
    await expect(page.locator("#total")).to_have_text("£10.00")
    assert page.js_errors == []


async def test_a_guest_is_asked_to_log_in_and_keeps_the_chosen_seats(
    client: Any, make_screening: Any, register: Any, new_page: Any
) -> None:
    base = base_url(client)
    screening = await make_screening(rows=3, per_row=8)
    user = await register(client)
    page = await new_page()
    await page.goto(f"{base}/screenings/{screening['screening_id']}")
    await expect(page.locator("#connection")).to_have_text("Live")
    await expect(page.locator("#guest-note")).to_be_visible()

    await seat(page, "B", 4).click()
    await seat(page, "B", 5).click()
    await expect(seat(page, "B", 5)).to_have_attribute("data-state", "chosen")
    await expect(page.locator("#seat-message")).to_contain_text("Log in to hold these seats")

    await page.locator("#login-to-hold").click()
    await expect(page).to_have_url(f"{base}/login?next=%2Fscreenings%2F{screening['screening_id']}")
    await page.locator("button[type=submit]").click()  # empty form: the form's own message
    await expect(page.locator(".form-error")).to_have_text("Email is required.")
    await page.fill("#email", user["email"])
    await page.fill("#password", "not-the-password1")
    await page.locator("button[type=submit]").click()  # the server's message
    await expect(page.locator(".form-error").first).not_to_have_text("")
    await page.fill("#password", user["password"])
    await page.locator("button[type=submit]").click()

    await expect(page).to_have_url(f"{base}/screenings/{screening['screening_id']}")
    await expect(seat(page, "B", 4)).to_have_attribute("data-state", "mine")
    await expect(seat(page, "B", 5)).to_have_attribute("data-state", "mine")
    await expect(page.locator("#countdown")).to_be_visible()
    await expect(page.locator("#checkout")).to_have_attribute("aria-disabled", "false")
    assert page.js_errors == []
