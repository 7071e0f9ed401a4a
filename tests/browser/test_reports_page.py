"""The reports page: staff read sales with totals per grouping; only admins get CSV export links."""
from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in, shoot
from tests.support.clocks import INSTANTS
from tests.test_reports import LONDON, place, screening_at


@pytest.fixture
async def todays_sales(pg: asyncpg.Connection, make_screening: Any, make_user: Any, clock: Any) -> dict[str, Any]:
    """Two shows early today (the London cinemas' day), in the page's default range: "Alpha" at
    cinema 1 takes £1,200.00 (two seats), "Beta" at cinema 2 takes £34.50 and refunds one £10.00 order."""
    now = clock.now()
    today = now.astimezone(LONDON).date()
    buyer = await make_user("customer")
    s1 = await make_screening(rows=1, per_row=5)
    s2 = await make_screening(rows=1, per_row=5)
    for show, title, hour in ((s1, "Alpha", 1), (s2, "Beta", 2)):
        await pg.execute("UPDATE movie SET title = $2 WHERE id = $1", show["movie_id"], title)
        await screening_at(pg, show["screening_id"], dt.datetime.combine(today, dt.time(hour), LONDON))
    await place(pg, buyer["id"], s1["screening_id"], {s1["seats"]["A1"]: 100000, s1["seats"]["A2"]: 20000},
                created_at=now)
    await place(pg, buyer["id"], s2["screening_id"], {s2["seats"]["A1"]: 3450}, created_at=now)
    refunded, _ = await place(pg, buyer["id"], s2["screening_id"], {s2["seats"]["A2"]: 1000}, "refunded",
                              created_at=now)
    # Sold and refunded now, on the test's clock (the page's default is the sales made this week).
    await pg.execute("UPDATE ticket SET created_at = $1", now)
    await pg.execute("INSERT INTO order_event (order_id, from_status, to_status, created_at)"
                     " VALUES ($1, 'paid', 'refunded', $2)", refunded, now)
    return {"s1": s1, "s2": s2, "from": (today - dt.timedelta(days=6)).isoformat(), "to": today.isoformat()}


@pytest.mark.parametrize("clock", [None, INSTANTS["jul-2355utc"], INSTANTS["jan-0005utc"]],
                         ids=["now", "jul-2355utc", "jan-0005utc"], indirect=True)
async def test_an_admin_reads_sales_regroups_them_and_downloads_filtered_csv(
    client: Any, register: Any, new_page: Any, todays_sales: dict[str, Any], clock: Any
) -> None:
    base = base_url(client)
    page = await new_page()
    await log_in(page, base, await register(client, role="admin"))
    await page.goto(f"{base}/admin")
    await page.get_by_role("link", name="Sales reports and exports →").click()

    # Defaults: the sales made in the last 7 days through today (the server's: London's day), by day.
    await expect(page.get_by_label("Count")).to_have_value("sold")
    await expect(page.get_by_label("From")).to_have_value(todays_sales["from"])
    await expect(page.get_by_label("To", exact=True)).to_have_value(todays_sales["to"])
    totals = page.locator("#report-table tfoot tr")
    await expect(totals).to_contain_text("Total")
    await expect(totals.locator("td").nth(4)).to_have_text("£1,234.50")  # takings
    await expect(totals.locator("td").nth(5)).to_have_text("1")  # refunds
    await expect(totals.locator("td").nth(6)).to_have_text("£10.00")  # refund amount
    await expect(page.locator("#report-table tbody tr")).to_have_count(1)
    await expect(page.locator("#report-table tbody")).to_contain_text(todays_sales["to"])

    await page.get_by_label("Group by").select_option("movie")
    await expect(page.locator("#report-table thead")).to_contain_text("Movie")
    await expect(page.locator("#report-table tbody tr")).to_have_count(2)
    await expect(page.locator("#report-table tbody tr").first).to_contain_text("Alpha")
    await expect(page.locator("#report-table tbody tr").first).to_contain_text("£1,200.00")
    await expect(page.locator("#report-table tbody tr").nth(1)).to_contain_text("Beta")

    cinema_id = todays_sales["s1"]["cinema_id"]
    await page.get_by_label("Cinema").select_option(str(cinema_id))
    await page.get_by_role("button", name="Show report").click()
    await expect(page.locator("#report-table tbody tr")).to_have_count(1)
    await expect(totals.locator("td").nth(4)).to_have_text("£1,200.00")
    filters = f"from={todays_sales['from']}&to={todays_sales['to']}&cinema_id={cinema_id}"
    orders_link = page.get_by_role("link", name="Download orders CSV")
    await expect(orders_link).to_have_attribute("href", f"/api/exports/orders.csv?{filters}")
    await expect(orders_link).to_have_attribute("download", "")
    screenings_link = page.get_by_role("link", name="Download screenings CSV")
    await expect(screenings_link).to_have_attribute("href", f"/api/exports/screenings.csv?{filters}")
    if not clock.offset:
        await shoot(page, "admin-reports")
    # The browser's cookies authenticate the plain GET behind the link.
    resp = await page.context.request.get(base + (await screenings_link.get_attribute("href") or ""))
    assert resp.ok and resp.headers["content-type"].startswith("text/csv")
    assert "Alpha" in await resp.text() and "Beta" not in await resp.text()

    # The server's validation error lands on the field it names.
    await page.get_by_label("From").fill(todays_sales["to"])
    await page.get_by_label("To", exact=True).fill(todays_sales["from"])
    await page.get_by_role("button", name="Show report").click()
    await expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#r-to-error")).to_have_text("The To date is before the From date.")
    assert page.js_errors == []


async def test_staff_read_the_report_on_a_phone_without_export_links(
    client: Any, register: Any, new_page: Any, todays_sales: dict[str, Any]
) -> None:
    base = base_url(client)
    page = await new_page(viewport={"width": 390, "height": 844})
    await log_in(page, base, await register(client, role="staff"))
    await page.goto(f"{base}/staff")
    await page.get_by_role("link", name="Sales reports →").click()
    totals = page.locator("#report-table tfoot tr")
    await expect(totals.locator("td").nth(4)).to_have_text("£1,234.50")
    await expect(page.get_by_role("link", name="Download orders CSV")).to_be_hidden()
    await expect(page.get_by_role("link", name="Download screenings CSV")).to_be_hidden()
    # No sideways scrolling of the whole page: only the table's own wrapper may scroll.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await shoot(page, "admin-reports-phone")
    assert page.js_errors == []
