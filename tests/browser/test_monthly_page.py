"""The monthly report page: a manager picks a month and reads the server-rendered report (the
PDF's template) at full height, on a desktop and on a phone; the PDF link carries the choice."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import base_url, log_in, shoot
from tests.browser.test_reports_page import todays_sales  # noqa: F401 (fixture)
from tests.support.clocks import around_midnight


@pytest.mark.parametrize("viewport,name", [((1366, 900), "admin-monthly-report"),
                                           ((390, 844), "admin-monthly-report-phone")])
async def test_a_manager_reads_the_monthly_report(
    client: Any, register: Any, new_page: Any, todays_sales: dict[str, Any], clock: Any,
    viewport: tuple[int, int], name: str,
) -> None:
    base = base_url(client)
    page = await new_page(viewport={"width": viewport[0], "height": viewport[1]})
    await log_in(page, base, await register(client, role="admin"))
    await page.goto(f"{base}/admin/reports")
    await page.get_by_role("link", name="Monthly report").first.click()
    month = todays_sales["to"][:7]  # London's month today
    await expect(page.get_by_label("Month")).to_have_value(month)
    report = page.frame_locator("#monthly-frame")
    await expect(report.locator("#fig-net")).to_have_text("£1,234.50")
    await expect(report.locator("#fig-tickets")).to_have_text("3")
    await expect(report.locator("svg")).to_have_count(6)
    await expect(page.get_by_role("link", name="Open as PDF")).to_have_attribute(
        "href", f"/api/reports/monthly?month={month}&format=pdf")
    cinema_id = todays_sales["s1"]["cinema_id"]
    await page.get_by_label("Cinema").select_option(str(cinema_id))
    await expect(report.locator("#fig-net")).to_have_text("£1,200.00")
    await page.wait_for_function("document.querySelector('#monthly-frame').offsetHeight > 900")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await shoot(page, name)
    pdf = await page.context.request.get(base + (await page.get_by_role("link", name="Open as PDF").get_attribute("href") or ""))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert page.js_errors == []


@around_midnight
async def test_the_month_is_the_cinemas_month_around_midnight(
    client: Any, register: Any, new_page: Any, todays_sales: dict[str, Any], clock: Any
) -> None:
    base = base_url(client)
    page = await new_page()
    await log_in(page, base, await register(client, role="staff"))
    await page.goto(f"{base}/admin/reports/monthly")
    await expect(page.get_by_label("Month")).to_have_value(todays_sales["to"][:7])
    await expect(page.frame_locator("#monthly-frame").locator("#fig-net")).to_have_text("£1,234.50")
    assert page.js_errors == []
