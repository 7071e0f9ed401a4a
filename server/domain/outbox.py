"""The outbox (invariant 11): a message is written in the transaction of the change that causes it.

`enqueue` inserts one `message` row per channel the user gets (email, push) and defers its send
job in the same transaction (the job queue's tables are in PostgreSQL too), so a change that
commits always has its messages, and one that rolls back has none. A unique key per
(kind, subject, channel) makes a second copy impossible: a retried webhook, a double click or a
reminder scan that runs twice finds the row there and adds nothing. Sending is the job's work
(server/messaging/sender.py); this module only records what is owed.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, Final

import asyncpg

# Message kinds (docs/messages.md). Receipts and account mail are emailed whatever the settings.
ORDER_CONFIRMED: Final = "order_confirmed"
ORDER_CANCELLED: Final = "order_cancelled"
ORDER_REFUNDED: Final = "order_refunded"
SCREENING_CANCELLED: Final = "screening_cancelled"
REMINDER_DAY_BEFORE: Final = "reminder_day_before"
REMINDER_SOON: Final = "reminder_soon"
PASSWORD_RESET: Final = "password_reset"
WAITLIST_OFFER: Final = "waitlist_offer"
MONTHLY_REPORT: Final = "monthly_report"  # to admins and the cinema's managers (server/messaging/monthly_reports.py)
RECEIPTS: Final = frozenset({ORDER_CONFIRMED, ORDER_CANCELLED, ORDER_REFUNDED, SCREENING_CANCELLED,
                             PASSWORD_RESET, MONTHLY_REPORT})
# Sent before anything else waiting in the queue: someone is waiting for these right now.
URGENT: Final = frozenset({PASSWORD_RESET, WAITLIST_OFFER})


async def enqueue(conn: asyncpg.Connection, sql: SimpleNamespace, *, kind: str, subject: str, user_id: int,
                  now: dt.datetime, payload: dict[str, Any] | None = None) -> list[int]:
    """Record a message for a user (call inside the change's transaction); the new message ids.

    `sql` is the named queries of sql/queries/outbox.sql. Nothing is added for a
    (kind, subject, channel) that exists already.
    """
    row = await conn.fetchrow(sql.message_enqueue, kind, subject, user_id, payload or {}, now,
                              kind in RECEIPTS, 10 if kind in URGENT else 0)
    return list(row["ids"])
