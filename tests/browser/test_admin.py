"""An admin builds an auditorium in the grid editor, schedules a screening, and the public sees it.

The cinema is in New York and the browser in UTC: the admin types the time on the cinema's wall
clock, and every page shows it on that clock, labelled with the zone (the viewer's differs).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in, shoot


async def test_admin_builds_an_auditorium_schedules_a_screening_and_it_is_on_the_home_page(
    client: Any, register: Any, new_page: Any, clock: Any, pg: Any
) -> None:
    base = base_url(client)
    page = await new_page()
    await log_in(page, base, await register(client, role="admin"))

    await page.goto(f"{base}/admin#cinemas")
    await page.locator("#resource-form button[type=submit]").click()  # empty: the form says what is missing
    await expect(page.locator("#resource-form .form-error").first).to_have_text("Name is required.")
    await page.fill("#f-name", "Riverside Picturehouse")
    await page.fill("#f-city", "Bristol")
    await page.fill("#f-latitude", "51.45")
    await page.fill("#f-longitude", "-2.59")
    await page.select_option("#f-time_zone", "America/New_York")
    await page.locator("#resource-form button[type=submit]").click()
    await expect(page.locator("#panel table")).to_contain_text("Riverside Picturehouse")

    await page.get_by_role("tab", name="Auditoriums").click()
    await page.select_option("#f-cinema_id", label="Riverside Picturehouse (Bristol)")
    await page.fill("#f-name", "Screen 1")
    await page.locator("#resource-form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/admin/auditoriums/\d+$"))
    await expect(page.locator("#grid button")).to_have_count(8 * 12)  # a new auditorium starts as 8 x 12

    await page.fill("#rows", "4")
    await page.fill("#cols", "6")
    await page.get_by_role("button", name="Resize").click()
    await expect(page.locator("#grid button")).to_have_count(24)
    await page.get_by_role("button", name="Row D, place 1: standard").click()  # cycle once: VIP
    await page.get_by_label("Aisle / gap").check()
    for row in "ABCD":
        await page.get_by_role("button", name=f"Row {row}, place 4: standard").click()
    await page.get_by_label("Blocked").check()
    await page.get_by_role("button", name="Row A, place 6: standard").click()
    await expect(page.locator("#summary")).to_have_text("20 places: 18 standard, 1 VIP, 0 wheelchair, 0 companion, 1 blocked.")
    await shoot(page, "admin-seat-editor-built")
    await page.get_by_role("button", name="Save seat map").click()
    await expect(page.locator("#summary")).to_have_text("Saved: 20 seats.")

    await page.goto(f"{base}/admin#movies")
    await page.fill("#f-title", "The Editor's Cut")
    await page.fill("#f-runtime_minutes", "95")
    await page.locator("#resource-form button[type=submit]").click()
    await expect(page.locator("#panel table")).to_contain_text("The Editor's Cut")

    await page.get_by_role("tab", name="Screenings").click()
    await page.select_option("#f-movie_id", label="The Editor's Cut")
    await page.select_option("#f-auditorium_id", label="Riverside Picturehouse — Screen 1 (America/New_York)")
    new_york = ZoneInfo("America/New_York")
    starts = (clock.now().astimezone(new_york) + dt.timedelta(days=2)).replace(hour=19, minute=30, second=0,
                                                                                microsecond=0)
    await page.fill("#f-starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    await page.fill('input[name="prices.vip"]', "16.50")
    await page.locator("#resource-form button[type=submit]").click()
    await expect(page.locator("#panel table")).to_contain_text("VIP £16.50")
    label = starts.tzname()  # EST or EDT: the browser's zone (UTC) reads another time
    await expect(page.locator("#panel table")).to_contain_text(f"19:30 {label}")
    assert await pg.fetchval("SELECT starts_at FROM screening") == starts

    await page.goto(f"{base}/")
    await page.get_by_role("link", name=re.compile("The Editor's Cut")).click()
    await expect(page.locator("#screenings")).to_contain_text("Riverside Picturehouse")
    await expect(page.locator(".times a").first).to_contain_text(f"19:30 {label}")
    await page.locator(".times a").first.click()
    await expect(page.locator(".seat")).to_have_count(20)
    await expect(page.locator('.seat[aria-label="Row D seat 1, VIP, £16.50, free"]')).to_be_visible()
    await expect(page.locator('.seat[data-state="blocked"]')).to_have_count(1)
    assert page.js_errors == []
