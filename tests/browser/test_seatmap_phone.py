"""The seat map on a phone and at first sight: it fits, zooms in its own frame, keeps the selection
in view, and says why a click did nothing or that a hold ran out."""
from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from server import demo, keys
from tests.browser.conftest import base_url, log_in, shoot

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def seat(page: Page, row: str, number: int) -> Any:
    return page.locator(f'.seat[aria-label^="Row {row} seat {number},"]')


async def page_scroll_width(page: Page) -> int:
    return await page.evaluate("document.documentElement.scrollWidth")


async def seat_px(page: Page) -> float:
    return await page.locator(".seat rect").first.evaluate("r => r.getBoundingClientRect().width")


async def frame_overflows(page: Page) -> bool:
    return await page.locator("#seatmap-frame").evaluate("f => f.scrollWidth > f.clientWidth + 1")


async def in_viewport(page: Page, selector: str) -> bool:
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 1 \
        and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 1


async def pinch(page: Page, spread: float) -> None:
    """Two fingers on the map moving apart (spread > 1) or together, through the browser's touch input."""
    cdp = await page.context.new_cdp_session(page)
    box = await page.locator("#seatmap-frame").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def points(d: float) -> list[dict[str, float]]:
        return [{"x": cx - d, "y": cy, "id": 1}, {"x": cx + d, "y": cy, "id": 2}]

    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(30)})
    for step in range(1, 6):
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(30 * (1 + (spread - 1) * step / 5))})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def test_the_520_seat_map_fits_a_phone_and_zooms_inside_its_frame(client: Any, clock: Any, new_page: Any,
                                                                        pg: Any) -> None:
    assert await demo.load_if_empty(client.app[keys.DB], clock)
    screening_id = await pg.fetchval(
        "SELECT s.id FROM screening s WHERE (SELECT count(*) FROM seat WHERE auditorium_id = s.auditorium_id) = 520"
        " ORDER BY s.starts_at LIMIT 1")
    phone = await new_page(**PHONE)
    await phone.goto(f"{base_url(client)}/screenings/{screening_id}")
    await expect(phone.locator("#connection")).to_have_text("Live")
    await expect(phone.locator(".seat")).to_have_count(520)

    # At first sight the whole auditorium fits the width: no sideways page scroll, no cut-off map.
    assert await page_scroll_width(phone) <= 390
    assert not await frame_overflows(phone)
    right_edge = await phone.locator("#seatmap").evaluate("s => s.getBoundingClientRect().right")
    assert right_edge <= 390
    await expect(phone.locator("#map-hint")).to_contain_text("Tap the map to zoom in")
    await expect(phone.locator("#zoom-out")).to_be_disabled()

    # + zooms inside the frame: seats big enough for a finger, the page still as wide as the phone.
    await phone.locator("#zoom-in").click()
    assert await seat_px(phone) >= 24
    assert await frame_overflows(phone) and await page_scroll_width(phone) <= 390
    await phone.locator("#zoom-fit").click()
    assert not await frame_overflows(phone)

    # A tap on the small map zooms in where it landed instead of choosing a seat blindly.
    await phone.locator("#seatmap-frame").tap()
    assert await seat_px(phone) >= 24
    await expect(phone.locator('.seat[data-state="chosen"]')).to_have_count(0)
    await phone.locator("#zoom-fit").click()

    # Pinch: two fingers apart zoom in, together zoom back out.
    await pinch(phone, 4.0)
    assert await seat_px(phone) >= 24 and await page_scroll_width(phone) <= 390
    await pinch(phone, 0.2)
    assert not await frame_overflows(phone)

    # Keyboard: + and - on the focused map.
    await seat(phone, "K", 10).focus()
    await phone.keyboard.press("+")
    assert await seat_px(phone) >= 24
    await phone.keyboard.press("-")
    assert not await frame_overflows(phone)
    assert phone.js_errors == []


async def test_the_selection_bar_stays_in_view_on_a_phone_and_a_desktop(client: Any, make_screening: Any,
                                                                        register: Any, new_page: Any) -> None:
    base = base_url(client)
    screening = await make_screening(rows=12, per_row=14)
    user = await register(client)
    for size in (PHONE, DESKTOP):
        page = await new_page(**size)
        await log_in(page, base, user)
        await page.goto(f"{base}/screenings/{screening['screening_id']}")
        await expect(page.locator("#connection")).to_have_text("Live")
        if size is PHONE:
            await page.locator("#zoom-in").click()
        await seat(page, "F", 7).click()
        await seat(page, "F", 8).click()
        await expect(page.locator("#bar-count")).to_have_text("2 seats")
        await expect(page.locator("#bar-seats")).to_have_text("F7–F8")
        await expect(page.locator("#countdown")).to_be_visible()
        assert await in_viewport(page, "#selection-bar") and await in_viewport(page, "#checkout")
        await page.evaluate("window.scrollTo(0, 0)")
        assert await in_viewport(page, "#checkout")
        await page.locator("#release-all").scroll_into_view_if_needed()
        assert await in_viewport(page, "#checkout") and await in_viewport(page, "#total")
        await page.locator("#release-all").click()
        await expect(page.locator("#bar-count")).to_have_text("No seats yet")
        assert page.js_errors == []


async def test_a_refused_click_says_why_in_the_viewport(client: Any, make_screening: Any, register: Any,
                                                       new_page: Any) -> None:
    base = base_url(client)
    screening = await make_screening(rows=10, per_row=6, kinds={("A", 1): "wheelchair", ("A", 2): "companion"})
    page = await new_page(**DESKTOP)
    await log_in(page, base, await register(client))
    await page.goto(f"{base}/screenings/{screening['screening_id']}")
    await expect(page.locator("#connection")).to_have_text("Live")
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")

    await seat(page, "A", 1).click()  # a wheelchair place, without asking for one
    await expect(page.locator("#seat-message")).to_contain_text("wheelchair")
    assert await in_viewport(page, "#seat-message")
    await page.evaluate("window.scrollTo(0, 0)")
    assert await in_viewport(page, "#seat-message")  # sticky: in view wherever the page is
    await shoot(page, "seatmap-refused")

    await page.locator("#seat-message-close").click()
    await seat(page, "J", 2).click()  # would strand J1 on its own
    await expect(page.locator("#seat-message")).to_contain_text("single seat on its own")
    assert await in_viewport(page, "#seat-message")
    await expect(page.locator(".seat.flagged")).not_to_have_count(0)
    await expect(seat(page, "J", 2)).to_have_attribute("data-state", "free")
    assert page.js_errors == []


async def test_an_expired_hold_is_announced_on_the_map(make_client: Any, make_screening: Any, register: Any,
                                                      new_page: Any) -> None:
    client = await make_client(holds={"ttl_seconds": 2, "max_total_seconds": 10, "sweep_interval_ms": 100})
    base = base_url(client)
    screening = await make_screening(rows=3, per_row=8)
    page = await new_page(**PHONE)
    await log_in(page, base, await register(client))
    await page.goto(f"{base}/screenings/{screening['screening_id']}")
    await expect(page.locator("#connection")).to_have_text("Live")
    await page.locator("#zoom-in").click()
    await seat(page, "B", 4).click()
    await seat(page, "B", 5).click()
    await expect(seat(page, "B", 5)).to_have_attribute("data-state", "mine")

    await expect(page.locator("#seat-message-text")).to_have_text("Your hold on B4–B5 expired — pick again.", timeout=8000)
    assert await in_viewport(page, "#seat-message")
    await shoot(page, "seatmap-expired-phone")
    await expect(seat(page, "B", 4)).to_have_attribute("data-state", "free")
    await expect(page.locator("#bar-count")).to_have_text("No seats yet")
    assert page.js_errors == []
