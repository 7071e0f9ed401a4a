"""Every main page renders the demo catalog without script or CSP errors; saves docs/screenshots.

Also at the two hardest hours, with the server's and the browser's clocks set there: 23:55 UTC
in July (already tomorrow in London) and 00:05 UTC in January. Screenshots come from the run
at the real time only.
"""
from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from server import demo, keys
from tests.browser.conftest import base_url, log_in, shoot
from tests.support.clocks import INSTANTS


@pytest.mark.parametrize("clock", [None, INSTANTS["jul-2355utc"], INSTANTS["jan-0005utc"]],
                         ids=["now", "jul-2355utc", "jan-0005utc"], indirect=True)
async def test_main_pages_render_the_demo_without_errors(client: Any, register: Any, new_page: Any, clock: Any) -> None:
    assert await demo.load_if_empty(client.app[keys.DB], clock)

    async def snap(page: Page, name: str) -> None:
        if not clock.offset:
            await shoot(page, name)

    base = base_url(client)
    admin = await register(client, role="admin")
    page = await new_page(viewport={"width": 1366, "height": 900})

    await page.goto(f"{base}/")
    await expect(page.locator(".movie-card").first).to_be_visible()
    await expect(page.locator("#cinemas li").first).to_be_visible()
    await snap(page, "home")

    await page.locator(".movie-card").first.click()
    await expect(page.locator(".times a").first).to_be_visible()
    await snap(page, "movie")
    await page.goto(f"{base}/cinemas/1")
    await expect(page.locator(".time-slot").first).to_contain_text("seats free")
    await snap(page, "cinema")
    await page.goto(f"{base}/movies/999999")
    await expect(page.locator("h1")).to_have_text("We could not find that film")
    await snap(page, "not-found")
    await page.goto(f"{base}/movies/1")

    await page.locator(".times a").first.click()
    await expect(page.locator("#connection")).to_have_text("Live")
    await expect(page.locator(".seat").first).to_have_attribute("data-state", "free")
    await snap(page, "seatmap-guest")

    await page.goto(f"{base}/login")
    await snap(page, "login")
    await log_in(page, base, admin)
    for path, name, ready in [
        ("/staff", "staff-dashboard", ".dash-card"),
        ("/admin#cinemas", "admin", "#panel table"),
        ("/admin#screenings", "admin-screenings", ".pager-status"),
        ("/admin#users", "admin-users", ".pager-status"),
    ]:
        await page.goto(f"{base}{path}")
        await expect(page.locator(ready).first).to_be_visible()
        if path == "/staff":  # today's whole programme, today being London's day whatever the hour
            today = clock.now().astimezone(demo.LONDON).date().isoformat()
            await expect(page.locator("#dash-date")).to_have_value(today)
            await expect(page.locator("#dash-title")).to_have_text("Today's screenings")
            await expect(page.locator("#dash-empty")).to_be_hidden()
            await expect(page.locator(".dash-card .where").first).to_contain_text("10:30")
        await snap(page, name)
    await page.goto(f"{base}/admin/auditoriums/1")
    await expect(page.locator("#grid button").first).to_be_visible()
    await snap(page, "admin-seat-editor")

    await page.goto(f"{base}/api/docs")
    await expect(page.locator(".opblock").first).to_be_visible()
    await snap(page, "api-docs")

    phone = await new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    await phone.goto(f"{base}/")
    await expect(phone.locator(".movie-card").first).to_be_visible()
    await snap(phone, "home-phone")
    await phone.goto(f"{base}/cinemas/1")
    await expect(phone.locator(".time-slot").first).to_be_visible()
    await snap(phone, "cinema-phone")
    await phone.goto(f"{base}/screenings/1")
    await expect(phone.locator("#connection")).to_have_text("Live")
    await snap(phone, "seatmap-phone")
    await phone.locator("#zoom-in").click()
    await phone.locator('.seat[aria-label^="Row K seat 13,"]').click()
    await phone.locator('.seat[aria-label^="Row K seat 12,"]').click()  # a guest's picks, kept for after login
    await expect(phone.locator("#bar-seats")).to_have_text("K12–K13")
    await snap(phone, "seatmap-phone-zoomed")
    assert page.js_errors == [] and phone.js_errors == []
