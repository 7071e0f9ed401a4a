"""The Notifications settings page: channels and reminder times, as a user sets them."""
from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in, shoot


async def test_choose_channels_and_reminder_times(client: Any, register: Any, new_page: Any, pg: Any) -> None:
    base = base_url(client)
    user = await register(client)
    page = await new_page(viewport={"width": 1366, "height": 900})
    await log_in(page, base, user)
    await page.goto(f"{base}/tickets")
    await page.get_by_role("link", name="Reminders and notifications").click()
    await expect(page.locator("#notifications-form")).to_be_visible()
    await expect(page.locator("#email")).to_be_checked()
    await expect(page.locator("#push")).not_to_be_checked()
    await expect(page.locator("#remind-day-before")).to_be_checked()
    await expect(page.locator("#remind-hours")).to_have_value("2")
    await expect(page.locator("#day-before-hour")).to_have_text("09:00")
    await expect(page.locator("#push-state")).not_to_be_empty()
    await page.locator("#email").uncheck()
    await page.select_option("#remind-hours", "3")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#flash")).to_have_text("Saved.")
    row = await pg.fetchrow("SELECT email, remind_day_before, remind_hours FROM notification_settings")
    assert (row["email"], row["remind_day_before"], row["remind_hours"]) == (False, True, 3)
    await shoot(page, "notifications")
    phone = await new_page(viewport={"width": 390, "height": 844})
    await log_in(phone, base, user)
    await phone.goto(f"{base}/settings/notifications")
    await expect(phone.locator("#remind-hours")).to_have_value("3")
    await shoot(phone, "notifications-phone")
    guest = await new_page()
    await guest.goto(f"{base}/settings/notifications")
    await expect(guest.locator("#login-needed")).to_be_visible()
    assert page.js_errors == [] and phone.js_errors == [] and guest.js_errors == []
