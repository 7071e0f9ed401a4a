"""Staff pages: the dashboard turns a screening houseful live, and check-in admits a ticket once."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from playwright.async_api import expect

from server import keys
from tests.browser.conftest import base_url, log_in, shoot
from tests.support.clocks import INSTANTS


async def buy(client: Any, user: dict[str, Any], screening_id: int, seat_ids: list[int]) -> str:
    """Hold, order and pay through the sandbox page, as another customer would; the order key."""
    base = base_url(client)
    holds = client.app[keys.HOLDS]
    await holds.warm(screening_id)
    await holds.hold(screening_id, f"u{user['id']}", seat_ids)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        resp = await http.post(f"{base}/api/orders", json={"screening_id": screening_id, "seat_ids": seat_ids},
                               headers={**user["headers"], "Idempotency-Key": f"buy-{screening_id}-{seat_ids}"})
        assert resp.status in (200, 201), await resp.text()
        order = await resp.json()
        paid = await http.post(f"{base}{order['payment_url']}" if order["payment_url"].startswith("/") else order["payment_url"],
                               data={"card": "4242424242424242"})
        assert paid.status == 200, await paid.text()
        return order["order_key"]


@pytest.mark.parametrize("clock", [None, INSTANTS["jul-2355utc"], INSTANTS["jan-0005utc"]],
                         ids=["now", "jul-2355utc", "jan-0005utc"], indirect=True)
async def test_the_dashboard_turns_houseful_live_when_the_last_seat_sells(
    client: Any, make_screening: Any, make_user: Any, register: Any, new_page: Any, clock: Any
) -> None:
    base = base_url(client)
    screening = await make_screening(rows=1, per_row=3, starts_in=dt.timedelta(hours=3))
    london = ZoneInfo("Europe/London")
    today = clock.now().astimezone(london).date().isoformat()
    day = (clock.now() + dt.timedelta(hours=3)).astimezone(london).date().isoformat()
    page = await new_page()
    await log_in(page, base, await register(client, role="staff"))
    await page.goto(f"{base}/staff")
    # The server says which day is today (the cinemas' local day), not the browser's UTC date.
    await expect(page.locator("#dash-date")).to_have_value(today)
    await expect(page.locator("#dash-title")).to_have_text("Today's screenings")
    await page.fill("#dash-date", day)  # the show's day (after the cinemas' midnight at some hours)
    await page.locator("#dash-date").dispatch_event("change")
    card = page.locator(f'.dash-card[data-screening-id="{screening["screening_id"]}"]')
    await expect(card.locator(".free")).to_have_text("3")
    await expect(card.locator(".houseful")).to_be_hidden()

    customer = await make_user("customer")
    seats = screening["seats"]
    await buy(client, customer, screening["screening_id"], [seats["A1"], seats["A2"]])
    await expect(card.locator(".sold")).to_have_text("2", timeout=15_000)
    await expect(card.locator(".houseful")).to_be_hidden()
    await buy(client, customer, screening["screening_id"], [seats["A3"]])
    await expect(card.locator(".houseful")).to_be_visible(timeout=15_000)
    await expect(card.locator(".sold")).to_have_text("3")
    await expect(card.locator(".takings")).to_have_text("£30.00")
    await expect(card).to_have_attribute("data-houseful", "true")
    if not clock.offset:
        await shoot(page, "staff-dashboard-houseful")
    assert page.js_errors == []


async def test_check_in_admits_a_ticket_once(client: Any, make_screening: Any, make_user: Any, register: Any,
                                             new_page: Any) -> None:
    base = base_url(client)
    screening = await make_screening(rows=1, per_row=4)
    customer = await make_user("customer")
    key = await buy(client, customer, screening["screening_id"], [screening["seats"]["A1"]])
    async with aiohttp.ClientSession() as http:
        for _ in range(100):  # poll the order (no event to wait on over HTTP): the webhook confirms it shortly
            order = await (await http.get(f"{base}/api/orders/{key}", headers=customer["headers"])).json()
            if order["status"] == "paid":
                break
            await asyncio.sleep(0.1)
    code = order["tickets"][0]["code"]
    page = await new_page()
    await log_in(page, base, await register(client, role="staff"))
    await page.goto(f"{base}/staff/checkin")
    await page.fill("#code", code)
    await page.keyboard.press("Enter")
    await expect(page.locator('[data-outcome="valid"]')).to_contain_text("Row A seat 1")
    await page.fill("#code", code)
    await page.keyboard.press("Enter")
    await expect(page.locator('[data-outcome="already_used"]')).to_be_visible()
    await page.fill("#code", "HF1.nonsense")
    await page.keyboard.press("Enter")
    await expect(page.locator('[data-outcome="invalid"]')).to_be_visible()
    await shoot(page, "checkin")
    assert page.js_errors == []


@pytest.mark.parametrize("clock", [dt.datetime(2027, 1, 13, 23, 59, 50, tzinfo=dt.timezone.utc)],
                         ids=["jan-before-midnight"], indirect=True)
async def test_the_dashboard_of_today_moves_to_the_new_day_at_the_cinemas_midnight(
    client: Any, make_screening: Any, register: Any, new_page: Any, clock: Any
) -> None:
    screening = await make_screening(rows=1, per_row=2, starts_in=dt.timedelta(hours=20))  # tomorrow evening
    london = ZoneInfo("Europe/London")
    today = clock.now().astimezone(london).date()
    page = await new_page()
    await log_in(page, base_url(client), await register(client, role="staff"))
    await page.goto(f"{base_url(client)}/staff")
    await expect(page.locator("#dash-date")).to_have_value(today.isoformat())
    card = page.locator(f'.dash-card[data-screening-id="{screening["screening_id"]}"]')
    await expect(card).to_have_count(0)
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=london)
    clock.advance(midnight.timestamp() - clock.time() + 1)  # the server's clock; the page follows the server
    # The feed looks at the clock at least once a second, then reads the new day's list and sends
    # it; under a full suite's load that took over the default 5 s once.
    await expect(page.locator("#dash-date")).to_have_value((today + dt.timedelta(days=1)).isoformat(),
                                                            timeout=15_000)
    await expect(page.locator("#dash-title")).to_have_text("Today's screenings")
    await expect(card).to_have_count(1)
    await page.set_viewport_size({"width": 1366, "height": 900})
    await shoot(page, "staff-dashboard-next-day")
    await page.set_viewport_size({"width": 390, "height": 844})
    await shoot(page, "staff-dashboard-next-day-phone")
    assert page.js_errors == []
