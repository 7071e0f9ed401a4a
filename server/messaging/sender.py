"""Deliver one outbox message: render it, then send it while holding its row lock.

Exactly once, and where it can only be at least once:
  1. the row is read; a message that is no longer pending is done (a duplicate job, a retry after
     success): nothing is sent;
  2. the content is rendered (outside any transaction: the PDF takes a while);
  3. in one transaction: the row is locked (FOR UPDATE), re-checked, sent, and marked sent.
The lock means two workers never send one message at once; a worker that dies mid-send loses the
lock with its connection and the row stays pending, so the job's retry sends it. A worker killed
before the SMTP server accepted the message (before the end of DATA) therefore leaves exactly one
copy. The one window left is between the server's "250 accepted" and our commit (milliseconds):
a crash there sends the message again on retry, with the same Message-ID, so mail systems and
people can tell it is the same message (docs/messages.md).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping

import aiohttp
import aiosmtplib
import asyncpg
from py_vapid import Vapid

from server.checkout.tickets import ticket_secret
from server.clock import Clock
from server.config import Settings
from server.messaging import content
from server.messaging.content import Content, ContentDeps, Gone
from server.messaging.mail import send_email, sender_domain
from server.domain.resets import reset_secret
from server.messaging.push import GONE, load_vapid, send_push
from server.queries import Queries

log = logging.getLogger(__name__)
PUSH_OK = frozenset({200, 201, 202})
# Failures worth another try later: the server is down, slow or busy.
TRANSIENT = (OSError, asyncio.TimeoutError, aiosmtplib.SMTPException, aiohttp.ClientError)


class SendFailed(Exception):
    """This attempt failed; the job is retried (with backoff) unless it was the last attempt."""


@dataclass(frozen=True)
class Messenger:
    """What sending needs: the database and its queries, settings, clock, renderer, push keys, HTTP."""

    pool: asyncpg.Pool
    sql: Queries
    settings: Settings
    clock: Clock
    content: ContentDeps
    vapid: Vapid
    http: aiohttp.ClientSession


@contextlib.asynccontextmanager
async def open_messenger(settings: Settings, pool: asyncpg.Pool, sql: Queries, clock: Clock,
                         jwt_secret: str) -> AsyncIterator[Messenger]:
    """A Messenger for the app or `run.py worker`, with its HTTP session for push services."""
    deps = ContentDeps(pool=pool, sql=sql.messages, settings=settings, ticket_secret=ticket_secret(jwt_secret),
                       reset_secret=reset_secret(jwt_secret), clock=clock, env=content.template_environment())
    async with aiohttp.ClientSession() as http:
        yield Messenger(pool, sql, settings, clock, deps, load_vapid(settings), http)


def message_id_header(m: Messenger, row: Mapping[str, Any]) -> str:
    """The message's Message-ID: derived from its row, so every attempt carries the same one."""
    stamp = row["created_at"].strftime("%Y%m%d%H%M%S")
    return f"<{row['kind'].replace('_', '-')}.{row['id']}.{stamp}@{sender_domain(m.settings.mail)}>"


async def deliver(m: Messenger, message_id: int, *, last_attempt: bool) -> str:
    """Send a pending message; its status after (sent, skipped, failed). SendFailed to retry later."""
    row = await m.pool.fetchrow(m.sql.outbox.message_get, message_id)
    if row is None or row["status"] != "pending":
        return row["status"] if row else "gone"
    try:
        rendered = await content.build(m.content, row)
    except Gone as gone:
        await m.pool.execute(m.sql.outbox.message_done, message_id, "skipped", m.clock.now(), str(gone))
        return "skipped"
    error: str | None = None
    permanent = False
    async with m.pool.acquire() as conn, conn.transaction():
        locked = await conn.fetchrow(m.sql.outbox.message_lock, message_id)
        if locked["status"] != "pending":
            return locked["status"]  # another worker sent it while we rendered
        try:
            status = await _send(m, conn, locked, rendered)
        except aiosmtplib.SMTPResponseException as exc:
            error, permanent = f"SMTP {exc.code}: {exc.message}", exc.code >= 500
        except aiosmtplib.SMTPRecipientsRefused as exc:
            error = "; ".join(f"SMTP {r.code}: {r.message}" for r in exc.recipients)
            permanent = all(r.code >= 500 for r in exc.recipients)
        except TRANSIENT as exc:
            error = f"{type(exc).__name__}: {exc}"
        except SendFailed as exc:
            error = str(exc)
        if error is None:
            await conn.execute(m.sql.outbox.message_done, message_id, status, m.clock.now(), None)
            return status
        if last_attempt or permanent:
            await conn.execute(m.sql.outbox.message_done, message_id, "failed", m.clock.now(), error)
        else:
            await conn.execute(m.sql.outbox.message_attempt_failed, message_id, error)
    log.warning("message %d (%s) not sent: %s%s", message_id, row["kind"], error,
                "" if last_attempt or permanent else "; it will be retried")
    if last_attempt or permanent:
        return "failed"
    raise SendFailed(error)


async def _send(m: Messenger, conn: asyncpg.Connection, row: Mapping[str, Any], rendered: Content) -> str:
    if row["channel"] == "email":
        await send_email(m.settings.mail, row["recipient"], rendered.email, message_id=message_id_header(m, row),
                         date=m.clock.now())
        return "sent"
    return await _push_all(m, conn, row, rendered.push)


async def _push_all(m: Messenger, conn: asyncpg.Connection, row: Mapping[str, Any], payload: dict[str, str]) -> str:
    """Every browser the user subscribed; sent when one took it, skipped when none is left.

    Push is a courtesy beside the email (the record): a browser that refuses it for good is
    forgotten, and one busy browser among several does not make the others receive it twice.
    """
    if not m.settings.push.enabled or row["user_id"] is None:
        return "skipped"
    delivered, busy = 0, []
    for sub in await conn.fetch(m.sql.messages.push_subscriptions_of, row["user_id"]):
        try:
            status = await send_push(m.http, m.vapid, m.settings.push, sub, payload)
        except TRANSIENT as exc:
            busy.append(f"{type(exc).__name__}: {exc}")
            continue
        if status in PUSH_OK:
            delivered += 1
        elif status in GONE:
            await m.pool.execute(m.sql.messages.push_subscription_gone, sub["id"])
        elif status == 429 or status >= 500:
            busy.append(f"push service answered {status}")
        else:
            log.warning("push to subscription %d refused with %d", sub["id"], status)
    if delivered:
        return "sent"
    if busy:
        raise SendFailed("; ".join(busy))
    return "skipped"
