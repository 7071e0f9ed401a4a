"""Every main page renders the demo catalog without script or CSP errors; saves docs/screenshots."""
from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from server import demo, keys
from tests.browser.conftest import base_url, log_in, shoot


async def test_main_pages_render_the_demo_without_errors(client: Any, register: Any, new_page: Any) -> None:
    assert await demo.load_if_empty(client.app[keys.DB])
    base = base_url(client)
    admin = await register(client, role="admin")
    page = await new_page()

    await page.goto(f"{base}/")
    await expect(page.locator(".movie-card").first).to_be_visible()
    await expect(page.locator("#cinemas li").first).to_be_visible()
    await shoot(page, "home")

    await page.locator(".movie-card").first.click()
    await expect(page.locator(".times a").first).to_be_visible()
    await shoot(page, "movie")

    await page.locator(".times a").first.click()
    await expect(page.locator("#connection")).to_have_text("Live")
    await expect(page.locator(".seat").first).to_have_attribute("data-state", "free")
    await shoot(page, "seatmap-guest")

    await page.goto(f"{base}/login")
    await shoot(page, "login")
    await log_in(page, base, admin)
    for path, name, ready in [
        ("/staff", "staff-dashboard", ".dash-card"),
        ("/admin#cinemas", "admin", "#panel table"),
        ("/admin#screenings", "admin-screenings", "#panel table"),
    ]:
        await page.goto(f"{base}{path}")
        await expect(page.locator(ready).first).to_be_visible()
        await shoot(page, name)
    await page.goto(f"{base}/admin/auditoriums/1")
    await expect(page.locator("#grid button").first).to_be_visible()
    await shoot(page, "admin-seat-editor")

    phone = await new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    await phone.goto(f"{base}/")
    await expect(phone.locator(".movie-card").first).to_be_visible()
    await shoot(phone, "home-phone")
    await phone.goto(f"{base}/screenings/1")
    await expect(phone.locator("#connection")).to_have_text("Live")
    await shoot(phone, "seatmap-phone")
    assert page.js_errors == [] and phone.js_errors == []
