"""Reminders follow the app's clock and the cinema's zone: at any hour, date and season.

The test's clock starts at each of tests/support/clocks.py's instants; the screening is at 19:30
three days later on its cinema's clock (Los Angeles: 8 or 7 hours behind UTC, so the local day
differs from UTC's at most of those instants). Time is moved with the clock, never waited for.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from server import keys
from server.messaging.reminders import queue_reminders
from tests.support.checkout import new_order, pay, wait_status
from tests.support.clocks import at_any_hour_anywhere

ZONE = "America/Los_Angeles"


async def _paid_order(client: Any, make_user: Any, make_screening: Any, clock: Any, seat: str = "A1",
                      **made: Any) -> tuple[dict[str, Any], str, dt.datetime]:
    local_now = clock.now().astimezone(_zone())
    start = dt.datetime.combine(local_now.date() + dt.timedelta(days=3), dt.time(19, 30), _zone())
    user = await make_user()
    sc = made.get("sc") or await make_screening(time_zone=ZONE, starts_in=start - clock.now().replace(microsecond=0))
    created = await new_order(client, user, sc["screening_id"], [sc["seats"][seat]])
    await pay(client, created)
    await wait_status(client, user, created["order_key"], {"paid"})
    return {**user, "sc": sc}, created["order_key"], start


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(ZONE)


async def _scan(client: Any, clock: Any, at: dt.datetime) -> list[tuple[str, str]]:
    """Move the clock to `at`, run the reminder scan, and list what it wrote (kind, order key)."""
    clock.advance((at - clock.now()).total_seconds())
    app = client.app
    await queue_reminders(app[keys.DB], app[keys.QUERIES], app[keys.SETTINGS], clock.now())
    rows = await app[keys.DB].fetch("SELECT kind, subject_key FROM message WHERE kind LIKE 'reminder%' ORDER BY id")
    return [(r["kind"], r["subject_key"]) for r in rows]


@at_any_hour_anywhere
async def test_the_day_before_at_nine_local_and_two_hours_before(
        client: Any, make_user: Any, make_screening: Any, clock: Any, pg: Any) -> None:
    user, key, start = await _paid_order(client, make_user, make_screening, clock)
    day_before = dt.datetime.combine(start.date() - dt.timedelta(days=1), dt.time(9, 0), _zone())
    assert await _scan(client, clock, day_before - dt.timedelta(minutes=1)) == []
    assert await _scan(client, clock, day_before + dt.timedelta(seconds=30)) == [("reminder_day_before", key)]
    assert await _scan(client, clock, day_before + dt.timedelta(minutes=5)) == [("reminder_day_before", key)]  # once
    soon = start - dt.timedelta(hours=2)
    assert await _scan(client, clock, soon - dt.timedelta(minutes=1)) == [("reminder_day_before", key)]
    assert await _scan(client, clock, soon + dt.timedelta(seconds=30)) == [
        ("reminder_day_before", key), ("reminder_soon", key)]
    assert await _scan(client, clock, start + dt.timedelta(minutes=1)) == [
        ("reminder_day_before", key), ("reminder_soon", key)]
    payload = await pg.fetchval("SELECT payload FROM message WHERE kind = 'reminder_soon'")
    assert '"hours": 2' in payload
    channels = await pg.fetch("SELECT channel, recipient FROM message WHERE kind LIKE 'reminder%'")
    assert {(r["channel"], r["recipient"]) for r in channels} == {("email", user["email"])}


@at_any_hour_anywhere
async def test_reminders_respect_settings_and_skip_cancelled_orders_and_screenings(
        client: Any, make_user: Any, make_screening: Any, clock: Any, pg: Any) -> None:
    keen, keen_key, start = await _paid_order(client, make_user, make_screening, clock)
    sc = keen["sc"]
    # One customer wants only a reminder three hours before; one wants none by any channel.
    picky, picky_key, _ = await _paid_order(client, make_user, make_screening, clock, seat="C1", sc=sc)
    quiet, quiet_key, _ = await _paid_order(client, make_user, make_screening, clock, seat="D1", sc=sc)
    gone, gone_key, _ = await _paid_order(client, make_user, make_screening, clock, seat="B1", sc=sc)
    resp = await client.patch("/api/me/notifications", json={"remind_day_before": False, "remind_hours": 3},
                              headers=picky["headers"])
    assert resp.status == 200
    resp = await client.patch("/api/me/notifications", json={"email": False}, headers=quiet["headers"])
    assert resp.status == 200
    resp = await client.post(f"/api/orders/{gone_key}/cancel", headers=gone["headers"])
    assert resp.status == 200
    later = await make_screening(time_zone=ZONE, starts_in=start - clock.now().replace(microsecond=0) + dt.timedelta(hours=4))
    stopped, stopped_key, _ = await _paid_order(client, make_user, make_screening, clock, sc=later)
    admin = await make_user("admin")
    resp = await client.post(f"/api/screenings/{later['screening_id']}/cancel", headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    day_before = dt.datetime.combine(start.date() - dt.timedelta(days=1), dt.time(9, 0), _zone())
    assert await _scan(client, clock, day_before + dt.timedelta(minutes=1)) == [("reminder_day_before", keen_key)]
    found = await _scan(client, clock, start - dt.timedelta(minutes=90))
    assert sorted(found) == sorted([("reminder_day_before", keen_key), ("reminder_soon", keen_key),
                                    ("reminder_soon", picky_key)])


@at_any_hour_anywhere
async def test_an_order_paid_after_a_reminder_was_due_gets_only_the_later_ones(
        client: Any, make_user: Any, make_screening: Any, clock: Any) -> None:
    # Bought five hours before the show: the day-before reminder is past, the two-hour one is not.
    user = await make_user()
    sc = await make_screening(time_zone=ZONE, starts_in=dt.timedelta(hours=5))
    created = await new_order(client, user, sc["screening_id"], [sc["seats"]["A1"]])
    await pay(client, created)
    await wait_status(client, user, created["order_key"], {"paid"})
    start = clock.now().replace(microsecond=0) + dt.timedelta(hours=5)
    assert await _scan(client, clock, clock.now() + dt.timedelta(minutes=1)) == []
    assert await _scan(client, clock, start - dt.timedelta(hours=2) + dt.timedelta(seconds=30)) == [
        ("reminder_soon", created["order_key"])]
