"""The waiting room in Chromium: countdown, a live place in line, admission, then seats."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from typing import Any

from playwright.async_api import expect

from server.keyspace import KeySpace
from server.live.busy import BusyServers
from tests.browser.conftest import base_url, log_in, shoot
from tests.support.clocks import around_midnight
from tests.wsclient import RoomClient


async def _policy(client: Any, admin: dict[str, Any], sid: int, **changes: Any) -> None:
    resp = await client.put(f"/api/screenings/{sid}/waiting-room", json=changes, headers=admin["headers"])
    assert resp.status == 200, await resp.text()


@around_midnight
async def test_countdown_then_place_in_line_then_seats(make_client: Any, make_screening: Any, make_user: Any,
                                                       register: Any, new_page: Any, clock: Any) -> None:
    client = await make_client(waiting_room={"tick_ms": 100})
    base = base_url(client)
    sc = await make_screening(rows=3, per_row=8)
    sid = sc["screening_id"]
    admin = await make_user("admin")
    opens = clock.now() + dt.timedelta(minutes=10)
    await _policy(client, admin, sid, sales_open_at=opens.isoformat(), mode="always", admit_per_second=50, paused=True)

    early = await new_page(viewport={"width": 1366, "height": 900})
    await log_in(early, base, await register(client))
    await early.goto(f"{base}/screenings/{sid}")  # the seat map sends a gated screening's visitors to its line
    await expect(early).to_have_url(f"{base}/screenings/{sid}/line")
    await expect(early.locator("#line-countdown")).to_be_visible()
    await expect(early.locator("#opens-in")).to_contain_text("00:")
    await shoot(early, "line-countdown")
    others = []
    for _ in range(3):  # three more early arrivals, through the socket
        user = await make_user()
        tab = RoomClient(await client.ws_connect(f"/ws/screenings/{sid}/line", headers=user["headers"]))
        await tab.ok("join")
        others.append(tab)

    clock.advance(601)  # the opening: the four early arrivals are shuffled into places 1-4
    phone = await new_page(viewport={"width": 390, "height": 844})
    await log_in(phone, base, await register(client))
    await phone.goto(f"{base}/screenings/{sid}/line")
    await expect(phone.locator("#my-number")).to_have_text("#5")
    await expect(phone.locator("#ahead")).to_have_text("4 people ahead of you")
    await expect(phone.locator("#line-paused")).to_be_visible()
    await shoot(phone, "line-waiting-phone")
    await expect(early.locator("#line-waiting")).to_be_visible()
    await shoot(early, "line-waiting")

    await _policy(client, admin, sid, paused=False)
    clock.advance(1)  # 50 a second: everyone's number is called
    await expect(phone).to_have_url(f"{base}/screenings/{sid}")
    await expect(phone.locator("#admission-timer")).to_be_visible()
    await phone.locator('.seat[aria-label^="Row C seat 4,"]').click()
    await expect(phone.locator('.seat[data-state="mine"]')).to_have_count(1)
    await shoot(phone, "seatmap-admitted-phone")
    await expect(early).to_have_url(f"{base}/screenings/{sid}")
    await expect(early.locator("#admission-timer")).to_be_visible()
    await shoot(early, "seatmap-admitted")
    for tab in others:
        await tab.close()
    assert early.js_errors == [] and phone.js_errors == []


async def test_admin_sets_the_waiting_room_and_pauses_it(client: Any, make_screening: Any, register: Any,
                                                         new_page: Any, pg: Any) -> None:
    base = base_url(client)
    sid = (await make_screening(rows=2, per_row=5))["screening_id"]
    page = await new_page(viewport={"width": 1366, "height": 900})
    await log_in(page, base, await register(client, "admin"))
    await page.goto(f"{base}/admin#screenings")
    await page.get_by_role("button", name="Waiting room…").click()
    await expect(page.locator("#wr-rate")).to_have_attribute("placeholder", "1 (from capacity)")  # 10 seats / 20
    await page.select_option("#wr-mode", "always")
    await page.fill("#wr-rate", "7")
    await shoot(page, "admin-waiting-room")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("dialog")).to_have_count(0)
    await page.get_by_role("button", name="Waiting room…").click()
    await page.get_by_role("button", name="Pause admissions").click()
    await expect(page.locator("dialog")).to_have_count(0)
    row = await pg.fetchrow("SELECT mode, admit_per_second, paused FROM waiting_room WHERE screening_id = $1", sid)
    assert dict(row) == {"mode": "always", "admit_per_second": 7, "paused": True}
    assert page.js_errors == []


async def test_a_buyer_goes_back_for_more_seats_within_their_admission(
    make_client: Any, make_screening: Any, make_user: Any, register: Any, new_page: Any,
) -> None:
    client = await make_client(waiting_room={"tick_ms": 100})
    base = base_url(client)
    sid = (await make_screening(rows=3, per_row=8))["screening_id"]
    await _policy(client, await make_user("admin"), sid, mode="always", admit_per_second=50)
    for viewport, name in (({"width": 1366, "height": 900}, "order-paid-more"), ({"width": 390, "height": 844},
                                                                                 "order-paid-more-phone")):
        page = await new_page(viewport=viewport)
        await log_in(page, base, await register(client))
        await page.goto(f"{base}/screenings/{sid}")  # through the line, admitted at once (nobody ahead)
        await expect(page).to_have_url(f"{base}/screenings/{sid}")
        await expect(page.locator("#admission-timer")).to_be_visible()
        await expect(page.locator("#connection")).to_have_text("Live")
        row = "A" if name == "order-paid-more" else "B"
        await page.locator(f'.seat[aria-label^="Row {row} seat 4,"]').click()
        await page.locator("#checkout").click()
        await page.locator("#pay").click()
        await page.fill("#card", "4242 4242 4242 4242")
        await page.get_by_role("button", name=re.compile("^Pay")).click()
        await expect(page.locator("#order-status")).to_contain_text("Enjoy the film", timeout=15_000)
        await expect(page.locator("#more-seats")).to_be_visible()
        await shoot(page, name)
        # Paying did not end the admission: back on the seat map, not in the line, and a seat more.
        await page.locator("#more-seats").click()
        await expect(page).to_have_url(f"{base}/screenings/{sid}")
        await expect(page.locator("#admission-timer")).to_be_visible()
        await expect(page.locator("#connection")).to_have_text("Live")
        await page.locator(f'.seat[aria-label^="Row {row} seat 5,"]').click()  # beside it: no lone seat left
        await expect(page.locator('.seat[data-state="mine"]')).to_have_count(1)
        assert page.js_errors == []


async def test_a_busy_box_office_tells_the_line_why_it_moves_slowly(make_client: Any, make_screening: Any,
                                                                   make_user: Any, register: Any, new_page: Any,
                                                                   redis: Any, settings: Any, clock: Any) -> None:
    client = await make_client(waiting_room={"tick_ms": 100, "busy_lag_ms": 50})
    base = base_url(client)
    sid = (await make_screening(rows=3, per_row=8))["screening_id"]
    admin = await make_user("admin")
    await _policy(client, admin, sid, mode="always", admit_per_second=10, max_active=100, paused=True)
    ahead = []
    for _ in range(40):
        tab = RoomClient(await client.ws_connect(f"/ws/screenings/{sid}/line", headers=(await make_user())["headers"]))
        await tab.ok("join")
        ahead.append(tab)
    desk = await new_page(viewport={"width": 1366, "height": 900})
    await log_in(desk, base, await register(client))
    await desk.goto(f"{base}/screenings/{sid}/line")
    await expect(desk.locator("#my-number")).to_have_text("#41")
    phone = await new_page(viewport={"width": 390, "height": 844})
    await log_in(phone, base, await register(client))
    await phone.goto(f"{base}/screenings/{sid}/line")
    await expect(phone.locator("#my-number")).to_have_text("#42")

    # Another worker of the deployment drowns: it reports its loop 400 ms late, as a real one does
    # (its own drowning is tests/test_waiting_room_busy.py's subject; this test is about the page).
    other = BusyServers(redis, KeySpace(settings.redis.key_prefix).key("workers", "lag"), clock, 50)
    stop = asyncio.Event()

    async def drowning() -> None:
        while not stop.is_set():
            await other.exchange(400)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)  # a report a second keeps it fresh

    reports = asyncio.create_task(drowning())
    try:
        await ahead[0].wait_for(lambda m: m.get("type") == "line" and m["busy"])
        await _policy(client, admin, sid, paused=False)  # the line moves, at a tenth of 10 a second
        for page in (desk, phone):
            await expect(page.locator("#line-busy")).to_be_visible()
            await expect(page.locator("#eta")).to_contain_text("Estimated wait")
        await shoot(desk, "line-busy")
        await shoot(phone, "line-busy-phone")
    finally:
        stop.set()
        await reports
    await redis.hdel(other.key, other.worker)  # it stopped: its figure goes
    await expect(desk.locator("#line-busy")).to_be_hidden()
    for tab in ahead:
        await tab.close()
    assert desk.js_errors == [] and phone.js_errors == []
