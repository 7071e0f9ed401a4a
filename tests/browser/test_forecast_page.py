"""The sell-out forecast as staff see it: a screening whose like always sold out is flagged on the
dashboard's "Likely to sell out" list and in the admin screenings list."""
from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from playwright.async_api import expect

from server import keys
from server.domain import forecasts
from tests.browser.conftest import base_url, log_in, shoot
from tests.test_reports import place


async def history_of_sell_outs(pg: asyncpg.Connection, make_screening: Any, make_user: Any, clock: Any) -> dict:
    """Three past Fridays-alike of one film in one screen, each sold out over its last week; the
    same show a week ahead, 1 of 4 seats sold."""
    buyer, now = await make_user("customer"), clock.now()
    show = await make_screening(rows=1, per_row=4, starts_in=dt.timedelta(days=7))
    await pg.execute("UPDATE movie SET title = 'Blockbuster' WHERE id = $1", show["movie_id"])
    seats = show["seats"]
    for weeks in (1, 2, 3):
        starts = now + dt.timedelta(days=7) - dt.timedelta(weeks=weeks)
        past = await pg.fetchval(
            "INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices) VALUES ($1, $2,"
            " $3::timestamptz, $3::timestamptz + interval '2 hours', '{\"standard\": 1000}') RETURNING id",
            show["auditorium_id"], show["movie_id"], starts)
        for n, (label, seat) in enumerate(sorted(seats.items())):
            bought = starts - dt.timedelta(days=(8, 4, 2, 0.5)[n])
            await place(pg, buyer["id"], past, {seat: 1000}, created_at=bought)
            await pg.execute("UPDATE ticket SET created_at = $2 WHERE seat_id = $1 AND screening_id = $3",
                             seat, bought, past)
    await place(pg, buyer["id"], show["screening_id"], {seats["A1"]: 1000}, created_at=now)
    return show


async def test_staff_see_likely_sell_outs(
    client: Any, pg: asyncpg.Connection, register: Any, new_page: Any, make_screening: Any, make_user: Any,
    clock: Any,
) -> None:
    await history_of_sell_outs(pg, make_screening, make_user, clock)
    app = client.app  # the hourly job's refit, now
    await forecasts.refit(app[keys.DB], app[keys.QUERIES].forecast, clock.now())
    base = base_url(client)
    page = await new_page(viewport={"width": 1366, "height": 900})
    await log_in(page, base, await register(client, role="admin"))
    await page.goto(f"{base}/staff")
    sellouts = page.locator("#sellouts")
    await expect(sellouts).to_contain_text("Likely to sell out")
    await expect(sellouts.locator("li")).to_have_count(1)
    await expect(sellouts.locator("li")).to_contain_text("Blockbuster")
    await expect(sellouts.locator("li")).to_contain_text("1 of 4 sold")
    await expect(page.locator(".dash-card .stats").first).not_to_contain_text("null")
    await shoot(page, "staff-dashboard-forecast")
    await page.goto(f"{base}/admin#screenings")
    await expect(page.get_by_text("likely sell-out").first).to_be_visible()
    assert page.js_errors == []
