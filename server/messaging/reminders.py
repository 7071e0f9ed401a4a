"""Reminders before the show, owed by the app's clock: written to the outbox by a periodic job.

Every minute a job asks PostgreSQL which paid orders are owed a reminder right now
(sql/queries/messages.sql, reminders_due): the day before at messages.day_before_hour on the
cinema's clock, and the user's chosen hours before the start. Each becomes one outbox message per
channel the user wants (their settings decide), once per order and kind thanks to the outbox's
unique key, so a scan that runs twice (two workers, a retry) adds nothing. None for cancelled or
refunded orders, cancelled screenings or shows already begun. The time is the app's clock
(server/clock.py), so a test can run the scan "at" any instant and zone.
"""
from __future__ import annotations

import datetime as dt

import asyncpg

from server.config import Settings
from server.domain import outbox
from server.queries import Queries


async def queue_reminders(pool: asyncpg.Pool, sql: Queries, settings: Settings, now: dt.datetime) -> int:
    """Write every reminder due at `now` to the outbox; how many messages were added."""
    due = await pool.fetch(sql.messages.reminders_due, now, settings.messages.day_before_hour,
                           settings.messages.hours_before)
    added = 0
    for row in due:
        async with pool.acquire() as conn, conn.transaction():
            added += len(await outbox.enqueue(conn, sql.outbox, kind=row["kind"], subject=row["order_key"],
                                              user_id=row["user_id"], now=now, payload={"hours": row["hours"]}))
    return added
