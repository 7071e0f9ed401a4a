"""Order emails end to end: a real SMTP server (aiosmtpd) receives what the job worker sends.

The app runs its in-node job worker (procrastinate on the run's PostgreSQL); each message is
parsed as a mail client would: headers, both bodies, inline QR images, the PDF tickets (one page
per ticket) and the calendar entry (in the cinema's own time zone).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import zoneinfo
from typing import Any

import icalendar
import orjson
import pypdf
import pytest

from server import keys
from tests.support.checkout import get_order, new_order, pay, wait_status
from tests.support.clocks import around_midnight, at_any_hour_anywhere
from tests.support.mail import SmtpSink, parts

ZONE = "America/New_York"


async def _after_send(pg: Any) -> Any:
    """The order_confirmed row once its sender has committed: the sink gets the mail inside the
    sender's transaction (docs/messages.md), so on a busy machine the row may still say pending
    for a moment. PostgreSQL offers no event here; a bounded poll."""
    for _ in range(200):
        row = await pg.fetchrow("SELECT status, attempts, sent_at FROM message WHERE kind = 'order_confirmed'")
        if row["status"] != "pending":
            return row
        await asyncio.sleep(0.05)
    return row


async def _paid(client: Any, make_user: Any, make_screening: Any, seats: list[str], zone: str = ZONE) -> tuple:
    user = await make_user()
    sc = await make_screening(time_zone=zone)
    created = await new_order(client, user, sc["screening_id"], [sc["seats"][s] for s in seats])
    await pay(client, created)
    await wait_status(client, user, created["order_key"], {"paid"})
    return user, sc, created["order_key"]


@around_midnight
async def test_order_confirmation_carries_qr_codes_pdf_tickets_and_a_calendar_entry(
        mail_client: Any, smtp: SmtpSink, make_user: Any, make_screening: Any, pg: Any) -> None:
    user, sc, key = await _paid(mail_client, make_user, make_screening, ["B4", "B5", "B6"])
    [message] = await smtp.wait_for(1)
    assert message["To"] == user["email"]
    assert message["From"] == "Houseful <tickets@houseful.local>"
    starts = (await pg.fetchval("SELECT starts_at FROM screening WHERE id = $1", sc["screening_id"]))
    local = starts.astimezone(zoneinfo.ZoneInfo(ZONE))
    assert message["Subject"] == f"Your tickets: Test Movie, {local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"
    assert message["Message-ID"].startswith("<order-confirmed.") and message["Message-ID"].endswith("@houseful.local>")
    body = parts(message)
    for seat in ("Row B seat 4", "Row B seat 5", "Row B seat 6"):
        assert seat in body["text"] and seat in body["html"]
    assert f"https://tickets.example.test/orders/{key}" in body["text"]
    assert "£30.00" in body["text"] and "£30.00" in body["html"]
    # One inline QR image per ticket, each referenced by the HTML.
    assert len(body["inline"]) == 3
    for image in body["inline"]:
        assert image.get_content_type() == "image/png"
        assert f"cid:{image['Content-ID'].strip('<>')}" in body["html"]
    files = {name: (ctype, data) for name, ctype, data in body["attachments"]}
    ctype, pdf = files[f"houseful-tickets-{key}.pdf"]
    assert ctype == "application/pdf"
    document = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(document.pages) == 3  # one printable page per ticket
    tickets = (await get_order(mail_client, user, key))["tickets"]
    for page, ticket in zip(document.pages, sorted(tickets, key=lambda t: t["number"])):
        text = page.extract_text()
        assert f"Row B seat {ticket['number']}" in text and key in text
    ctype, ics = files[f"houseful-{key}.ics"]
    assert ctype == "text/calendar"
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    start = event.decoded("dtstart")
    assert start == starts and str(start.tzinfo) == ZONE  # the cinema's wall clock, with its zone
    assert (start.hour, start.minute) == (local.hour, local.minute)
    assert event.decoded("dtend") > start and str(event["uid"]) == f"order-{key}@houseful"
    row = await _after_send(pg)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None


async def test_cancel_refund_and_cancelled_screening_each_send_their_notice(
        mail_client: Any, smtp: SmtpSink, make_user: Any, make_screening: Any, pg: Any) -> None:
    # Customer cancels: confirmation, then the cancellation notice.
    user, sc, key = await _paid(mail_client, make_user, make_screening, ["A1"])
    resp = await mail_client.post(f"/api/orders/{key}/cancel", headers=user["headers"])
    assert resp.status == 200, await resp.text()
    [first] = _about(await smtp.wait_for(2), "Your order is cancelled: Test Movie")
    assert "£10.00 goes back" in parts(first)["text"] and first["To"] == user["email"]
    # Staff refund an order of another screening.
    staff = await make_user("staff")
    user2, _, key2 = await _paid(mail_client, make_user, make_screening, ["A1"])
    resp = await mail_client.post(f"/api/orders/{key2}/refund", headers=staff["headers"])
    assert resp.status == 200, await resp.text()
    [refund] = _about(await smtp.wait_for(4), "Your refund: Test Movie")
    assert refund["To"] == user2["email"]
    # The cinema cancels a screening with two buyers: each hears it was cancelled.
    admin = await make_user("admin")
    buyer_a, sc3, _ = await _paid(mail_client, make_user, make_screening, ["C1", "C2"])
    buyer_b = await make_user()
    created = await new_order(mail_client, buyer_b, sc3["screening_id"], [sc3["seats"]["C3"]])
    await pay(mail_client, created)
    await wait_status(mail_client, buyer_b, created["order_key"], {"paid"})
    resp = await mail_client.post(f"/api/screenings/{sc3['screening_id']}/cancel", headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    received = await smtp.wait_for(8)
    cancelled = _about(received, "Screening cancelled: Test Movie")
    assert sorted(m["To"] for m in cancelled) == sorted([buyer_a["email"], buyer_b["email"]])
    assert "cancel this screening" in parts(cancelled[0])["text"]
    kinds = [r["kind"] for r in await pg.fetch("SELECT kind FROM message ORDER BY id")]
    assert kinds.count("order_confirmed") == 4 and kinds.count("screening_cancelled") == 2
    assert kinds.count("order_cancelled") == 1 and kinds.count("order_refunded") == 1


def _about(messages: list[Any], subject: str) -> list[Any]:
    """The messages whose subject starts so (workers send concurrently: arrival order is free)."""
    return [m for m in messages if str(m["Subject"]).startswith(subject)]


async def test_a_message_is_written_with_its_change_and_never_twice(
        client: Any, make_user: Any, make_screening: Any, pg: Any) -> None:
    # No worker runs here: the outbox row and its job exist as soon as the order is paid ...
    user, _, key = await _paid(client, make_user, make_screening, ["A1"])
    rows = await pg.fetch("SELECT id, kind, subject_key, channel, status FROM message")
    assert [(r["kind"], r["subject_key"], r["channel"], r["status"]) for r in rows] == [
        ("order_confirmed", key, "email", "pending")]
    jobs = await pg.fetch("SELECT task_name, args, status FROM procrastinate_jobs")
    assert [(j["task_name"], orjson.loads(j["args"]), j["status"]) for j in jobs] == [
        ("send_message", {"message_id": rows[0]["id"]}, "todo")]
    # ... and writing the same notice again (a redelivered webhook, a retried step) adds nothing.
    from server.domain import outbox
    async with client.app[keys.DB].acquire() as conn, conn.transaction():
        again = await outbox.enqueue(conn, client.app[keys.QUERIES].outbox, kind="order_confirmed", subject=key,
                                     user_id=user["id"], now=dt.datetime.now(dt.timezone.utc))
    assert again == []
    assert await pg.fetchval("SELECT count(*) FROM procrastinate_jobs") == 1


@at_any_hour_anywhere
async def test_a_reminder_email_names_the_time_on_the_cinema_clock(
        mail_client: Any, smtp: SmtpSink, make_user: Any, make_screening: Any, clock: Any, pg: Any) -> None:
    from server.messaging.reminders import queue_reminders

    user, sc, key = await _paid(mail_client, make_user, make_screening, ["A1", "A2"])
    # Only the "hours before" reminder here: two hours before a show just after midnight it is still
    # the day before, so the day-before reminder would be owed too (test_messages_reminders.py).
    await pg.execute("INSERT INTO notification_settings (user_id, remind_day_before) VALUES ($1, false)",
                     user["id"])
    await smtp.wait_for(1)  # the confirmation
    starts = await pg.fetchval("SELECT starts_at FROM screening WHERE id = $1", sc["screening_id"])
    clock.advance((starts - dt.timedelta(hours=2) - clock.now()).total_seconds() + 30)
    app = mail_client.app
    assert await queue_reminders(app[keys.DB], app[keys.QUERIES], app[keys.SETTINGS], clock.now()) == 1
    reminder = _about(await smtp.wait_for(2), "Starting soon: Test Movie")[0]
    local = starts.astimezone(zoneinfo.ZoneInfo(ZONE))
    assert reminder["Subject"] == f"Starting soon: Test Movie at {local:%H:%M}"
    text = parts(reminder)["text"]
    assert f"See you in 2 hours, at {local:%H:%M}" in text and "Row A seat 1" in text
    assert len(parts(reminder)["inline"]) == 2  # the QR codes, ready at the door
