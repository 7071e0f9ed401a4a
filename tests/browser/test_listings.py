"""Finding a show: the date strip, live availability and houseful in listings, a guest's clean
console, and the admin's screenings past the first 200."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in
from tests.factories import more_screenings
from tests.support.checkout import hold


async def test_the_cinema_page_date_strip_filters_and_marks_houseful(client: Any, make_screening: Any, make_user: Any,
                                                                    pg: Any, new_page: Any) -> None:
    base = base_url(client)
    first = await make_screening(rows=1, per_row=4, starts_in=dt.timedelta(days=1))
    second, third = await more_screenings(pg, first["screening_id"], 2, every=dt.timedelta(days=1))
    alice, bob = await make_user(), await make_user()
    seats = first["seats"]
    await hold(client, alice, first["screening_id"], [seats["A1"], seats["A2"]])
    await hold(client, bob, first["screening_id"], [seats["A3"], seats["A4"]])  # every seat taken: houseful
    await hold(client, alice, second, [first["seats"]["A1"]])

    page = await new_page()
    await page.goto(f"{base}/cinemas/{first['cinema_id']}")
    days = page.locator("#days button")
    await expect(days).to_have_count(3)
    await expect(days.first).to_have_attribute("aria-pressed", "true")
    slot = page.locator(".time-slot")
    await expect(slot).to_have_count(1)  # one screening per day: only the chosen day's
    await expect(slot).to_have_attribute("data-screening-id", str(first["screening_id"]))
    await expect(slot).to_contain_text("Houseful")
    await expect(slot).to_contain_text("from £10.00")

    await days.nth(1).click()
    await expect(days.nth(1)).to_have_attribute("aria-pressed", "true")
    await expect(slot).to_have_attribute("data-screening-id", str(second))
    await expect(slot).to_contain_text("3 seats free")
    await expect(page).to_have_url(re.compile(r"\?date=\d{4}-\d{2}-\d{2}$"))
    await page.reload()  # the chosen day is kept in the URL
    await expect(page.locator(".time-slot")).to_have_attribute("data-screening-id", str(second))
    await days.nth(2).click()
    await expect(slot).to_have_attribute("data-screening-id", str(third))
    await expect(slot).to_contain_text("4 seats free")

    # The film's page and the home page's card say the same.
    await page.goto(f"{base}/movies/{first['movie_id']}")
    await expect(page.locator(".time-slot").first).to_contain_text("Houseful")
    await page.goto(f"{base}/")
    await expect(page.locator(f'.time-chip[href="/screenings/{first["screening_id"]}"]')).to_contain_text("Houseful")
    assert page.js_errors == []


async def test_a_guest_sees_no_console_error_and_asks_nothing_about_a_session(client: Any, make_screening: Any,
                                                                             new_page: Any) -> None:
    base = base_url(client)
    made = await make_screening(rows=3, per_row=6)
    page = await new_page()
    console: list[str] = []
    asked: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None)
    page.on("request", lambda req: asked.append(req.url) if "/api/me" in req.url or "/api/auth/" in req.url else None)
    for path in ("/", f"/movies/{made['movie_id']}", f"/cinemas/{made['cinema_id']}",
                 f"/screenings/{made['screening_id']}", "/login", "/register", "/api/docs"):
        await page.goto(f"{base}{path}")
        await page.wait_for_load_state("networkidle")
    await expect(page.locator(".opblock").first).to_be_visible()  # the API reference drew itself
    assert console == [] and asked == [] and page.js_errors == []


async def test_admin_screenings_page_beyond_200_and_cancel_asks_first(client: Any, make_screening: Any, pg: Any,
                                                                     register: Any, new_page: Any) -> None:
    base = base_url(client)
    first = await make_screening(rows=1, per_row=4)
    later = await more_screenings(pg, first["screening_id"], 229)
    await pg.execute("UPDATE movie SET title = 'Last Picture Show' WHERE id = $1", first["movie_id"])
    page = await new_page(viewport={"width": 1366, "height": 900})
    await log_in(page, base, await register(client, role="admin"))
    await page.goto(f"{base}/admin#screenings")
    status = page.locator(".pager-status")
    await expect(status).to_have_text("1–50 of 230")
    for shown in ("51–100", "101–150", "151–200", "201–230"):
        await page.get_by_role("button", name="Next →").click()
        await expect(status).to_have_text(f"{shown} of 230")
    await expect(page.locator(f'#panel tr[data-id="{later[-1]}"]')).to_be_visible()
    await expect(page.get_by_role("button", name="Next →")).to_be_disabled()

    await page.fill("#flt-q", "no such film")
    await page.get_by_role("button", name="Show").click()
    await expect(status).to_have_text("None found")
    await page.fill("#flt-q", "picture")
    await page.get_by_role("button", name="Show").click()
    await expect(status).to_have_text("1–50 of 230")

    row = page.locator(f'#panel tr[data-id="{first["screening_id"]}"]')
    await row.get_by_role("button", name="Cancel…").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("every order for it is refunded")
    await dialog.get_by_role("button", name="Keep the screening").click()
    await expect(row).to_contain_text("Scheduled")
    await row.get_by_role("button", name="Cancel…").click()
    await page.get_by_role("button", name="Cancel screening and refund every order").click()
    await expect(page.locator(f'#panel tr[data-id="{first["screening_id"]}"]')).to_contain_text("Cancelled")
    assert await pg.fetchval("SELECT status FROM screening WHERE id = $1", first["screening_id"]) == "cancelled"
    assert page.js_errors == []
