"""What each kind of message says: the email (text, HTML, attachments) and the push notification.

Content is read when the message is sent, from the rows the message names (an order key, a reset,
a waiting-list entry), and rendered from Jinja2 templates in templates/email/ that match the site.
Times are written on the cinema's clock, labelled with its zone.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Mapping

import asyncpg
import jinja2

from server.checkout.tickets import ticket_code
from server.clock import Clock
from server.config import ROOT, Settings
from server.domain import outbox
from server.domain.resets import reset_token
from server.messaging.documents import calendar_entry, local_times, pdf_from_html, qr_pngs
from server.messaging.mail import Attachment, Email

TEMPLATES = ROOT / "templates" / "email"
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
KIND_NAMES = {"standard": "Standard", "vip": "VIP", "wheelchair": "Wheelchair space", "companion": "Companion"}


class Gone(Exception):
    """What the message is about no longer exists (or no longer applies): it is skipped, not sent."""


@dataclass(frozen=True)
class Content:
    """A message in both forms: the email, and the push notification ({title, body, url, tag})."""

    email: Email
    push: dict[str, str]


@dataclass(frozen=True)
class ContentDeps:
    """What rendering needs: the database, the named queries, settings, secrets and the clock."""

    pool: asyncpg.Pool
    sql: SimpleNamespace  # sql/queries/messages.sql
    settings: Settings
    ticket_secret: bytes
    reset_secret: bytes
    clock: Clock
    env: jinja2.Environment


def template_environment() -> jinja2.Environment:
    """Email templates: HTML autoescaped, plain text not."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    return env


def money(minor: int, currency: str = "GBP") -> str:
    """Integer minor units as the buyer reads them: £12.50."""
    symbol = SYMBOLS.get(currency, currency + " ")
    return f"{symbol}{minor // 100:,}.{minor % 100:02d}"


def _render(deps: ContentDeps, name: str, subject: str, data: Mapping[str, Any],
            attachments: tuple[Attachment, ...] = ()) -> Email:
    data = {**data, "subject": subject, "site_url": deps.settings.messages.site_url.rstrip("/")}
    return Email(subject, deps.env.get_template(f"{name}.txt").render(data),
                 deps.env.get_template(f"{name}.html").render(data), attachments)


async def _screening(deps: ContentDeps, conn: asyncpg.Connection, screening_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(deps.sql.screening_for_message, screening_id)
    if row is None:
        raise Gone(f"screening {screening_id} is gone")
    return {**dict(row), **local_times(row["starts_at"], row["ends_at"], row["time_zone"])}


def _seat_label(row: Mapping[str, Any]) -> str:
    return f"Row {row['row_label']} seat {row['number']}"


async def _order(deps: ContentDeps, conn: asyncpg.Connection, message: Mapping[str, Any],
                 all_tickets: bool = False) -> dict[str, Any]:
    order = await conn.fetchrow(deps.sql.order_for_message, message["subject_key"].partition(":")[0])
    if order is None:
        raise Gone("the order is gone")
    tickets = []
    for t in await conn.fetch(deps.sql.tickets_for_message, order["id"], all_tickets):
        code = ticket_code(deps.ticket_secret, t["id"], order["order_key"])
        tickets.append({"id": t["id"], "seat": _seat_label(t), "kind": KIND_NAMES.get(t["kind"], t["kind"]),
                        "price": money(t["price"], order["currency"]), "code": code, "cid": f"qr-{t['id']}"})
    return {"order": dict(order), "tickets": tickets, "total": money(order["amount"], order["currency"]),
            "screening": await _screening(deps, conn, order["screening_id"]),
            "order_url": f"{deps.settings.messages.site_url.rstrip('/')}/orders/{order['order_key']}"}


def _when(s: Mapping[str, Any]) -> str:
    return f"{s['date']} at {s['start']}"


async def order_confirmed(deps: ContentDeps, conn: asyncpg.Connection, message: Mapping[str, Any]) -> Content:
    """The receipt with the tickets: inline QR codes, printable PDF tickets and a calendar entry."""
    data = await _order(deps, conn, message)
    if data["order"]["status"] != "paid" or not data["tickets"]:
        raise Gone("the order is no longer paid")
    s, key = data["screening"], data["order"]["order_key"]
    subject = f"Your tickets: {s['movie_title']}, {_when(s)}"
    pngs = await _qr_codes(data["tickets"])
    pdf = await pdf_from_html(deps.env.get_template("tickets_pdf.html").render(
        {**data, "qr": {t["id"]: _data_uri(pngs[t["id"]]) for t in data["tickets"]}}))
    ics = calendar_entry(uid=f"order-{key}@houseful", title=f"{s['movie_title']} at {s['cinema']}",
                         starts_at=s["starts_at"], ends_at=s["ends_at"], zone=s["time_zone"],
                         location=f"{s['cinema']}, {s['auditorium']}, {s['address']}".strip(", "),
                         description=f"Order {key}: " + ", ".join(t["seat"] for t in data["tickets"]),
                         url=data["order_url"], now=deps.clock.now())
    files = _inline_codes(data["tickets"], pngs)
    files += (Attachment(f"houseful-tickets-{key}.pdf", "application/pdf", pdf),
              Attachment(f"houseful-{key}.ics", "text/calendar", ics))
    n = len(data["tickets"])
    return Content(_render(deps, "order_confirmed", subject, data, files),
                   {"title": "Tickets confirmed", "body": f"{s['movie_title']} · {_when(s)} · {n} seat{'s' * (n > 1)}",
                    "url": f"/orders/{key}", "tag": f"order-{key}"})


async def _qr_codes(tickets: list[dict[str, Any]]) -> dict[Any, bytes]:
    """Each ticket's QR code as a PNG, by ticket id (drawn once, off the event loop)."""
    return dict(zip((t["id"] for t in tickets), await qr_pngs([t["code"] for t in tickets])))


def _inline_codes(tickets: list[dict[str, Any]], pngs: dict[Any, bytes]) -> tuple[Attachment, ...]:
    """The QR images the email's HTML shows inline (cid:qr-<ticket id>)."""
    return tuple(Attachment(f"{t['cid']}.png", "image/png", pngs[t["id"]], cid=t["cid"]) for t in tickets)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


REFUND_WORDS = {
    outbox.ORDER_CANCELLED: ("Your order is cancelled", "You cancelled order {key}."),
    outbox.ORDER_REFUNDED: ("Your refund", "The cinema refunded order {key}."),
    outbox.SCREENING_CANCELLED: ("Screening cancelled", "The cinema had to cancel this screening, so order {key} "
                                 "is refunded in full. We are sorry."),
}


async def order_undone(deps: ContentDeps, conn: asyncpg.Connection, message: Mapping[str, Any]) -> Content:
    """A cancellation, a refund, or a screening the cinema cancelled: the money on its way back."""
    data = await _order(deps, conn, message, all_tickets=True)
    s, key = data["screening"], data["order"]["order_key"]
    headline, line = REFUND_WORDS[message["kind"]]
    subject = f"{headline}: {s['movie_title']}, {_when(s)}"
    data.update(headline=headline, line=line.format(key=key))
    return Content(_render(deps, "refund", subject, data),
                   {"title": headline, "body": f"{s['movie_title']} · {_when(s)} · {data['total']} refunded",
                    "url": f"/orders/{key}", "tag": f"order-{key}"})


async def reminder(deps: ContentDeps, conn: asyncpg.Connection, message: Mapping[str, Any]) -> Content:
    """The day before, or a few hours before: when and where, with the tickets' QR codes."""
    data = await _order(deps, conn, message)
    if data["order"]["status"] != "paid" or data["screening"]["screening_status"] != "scheduled":
        raise Gone("nothing to remind of")
    s = data["screening"]
    soon = message["kind"] == outbox.REMINDER_SOON
    hours = message["payload"].get("hours")
    when = f"in {hours} hour{'s' * (hours != 1)}, at {s['start']}" if soon else f"tomorrow at {s['start']}"
    subject = f"{'Starting soon' if soon else 'Tomorrow'}: {s['movie_title']} at {s['start']}"
    data.update(when=when)
    pngs = await _qr_codes(data["tickets"])
    files = _inline_codes(data["tickets"], pngs)
    return Content(_render(deps, "reminder", subject, data, files),
                   {"title": subject, "body": f"{s['cinema']}, {s['auditorium']} · {when}",
                    "url": f"/orders/{data['order']['order_key']}", "tag": f"reminder-{data['order']['order_key']}"})


async def password_reset(deps: ContentDeps, conn: asyncpg.Connection, message: Mapping[str, Any]) -> Content:
    """The reset link (it works once, for messages.reset_minutes)."""
    row = await conn.fetchrow(deps.sql.reset_for_message, int(message["subject_key"]))
    if row is None or row["used_at"] is not None or row["expires_at"] <= deps.clock.now():
        raise Gone("the reset link is used or expired")
    token = reset_token(deps.reset_secret, row["nonce"])
    link = f"{deps.settings.messages.site_url.rstrip('/')}/reset-password#token={token}"
    data = {"name": row["user_name"], "link": link, "minutes": deps.settings.messages.reset_minutes}
    return Content(_render(deps, "password_reset", "Reset your Houseful password", data),
                   {"title": "Password reset", "body": "Check your email for the link.", "url": "/login", "tag": "reset"})


async def waitlist_offer(deps: ContentDeps, conn: asyncpg.Connection, message: Mapping[str, Any]) -> Content:
    """Seats came free and are held for the customer until the claim window ends."""
    row = await conn.fetchrow(deps.sql.waitlist_for_message, int(message["subject_key"]))
    if row is None or not row["offered_seats"] or row["offer_expires_at"] <= deps.clock.now():
        raise Gone("the offer is over")
    s = await _screening(deps, conn, row["screening_id"])
    seats = [_seat_label(r) for r in await conn.fetch(deps.sql.seats_for_message, list(row["offered_seats"]))]
    until = local_times(row["offer_expires_at"], row["offer_expires_at"], s["time_zone"])["start"]
    n = len(seats)
    url = f"/screenings/{row['screening_id']}"
    subject = f"{n} seat{'s' * (n > 1)} for {s['movie_title']} held for you until {until}"
    data = {"name": row["user_name"], "screening": s, "seats": seats, "until": until, "wanted": row["seats"],
            "url": deps.settings.messages.site_url.rstrip("/") + url}
    return Content(_render(deps, "waitlist_offer", subject, data),
                   {"title": "Seats came free!", "body": f"{s['movie_title']}, {_when(s)}: {', '.join(seats)} — "
                    f"held for you until {until}", "url": url, "tag": f"waitlist-{row['id']}"})


async def monthly_report(deps: ContentDeps, conn: asyncpg.Connection, message: Mapping[str, Any]) -> Content:
    """A stored monthly report (server/messaging/monthly_reports.py): a summary, the PDF attached."""
    row = await conn.fetchrow(deps.sql.report_for_message, message["payload"]["archive_id"], message["user_id"])
    if row is None:
        raise Gone("the report is gone")
    month_name = row["month"].strftime("%B %Y")
    url = deps.settings.messages.site_url.rstrip("/") + "/admin/reports/archive"
    data = {"name": row["user_name"], "title": row["title"], "month_name": month_name, "url": url,
            "summary": row["figures"]["summary"], "currency": deps.settings.checkout.currency}
    pdf = Attachment(f"houseful-report-{row['month']:%Y-%m}-{row['id']}.pdf", "application/pdf", row["pdf"])
    return Content(_render(deps, "monthly_report", f"Monthly report: {row['title']}", data, (pdf,)),
                   {"title": "Monthly report", "body": row["title"], "url": "/admin/reports/archive",
                    "tag": f"report-{row['id']}"})


Builder = Callable[[ContentDeps, asyncpg.Connection, Mapping[str, Any]], Awaitable[Content]]
# Every kind of message and what renders it; a new kind is a function and a line here.
BUILDERS: dict[str, Builder] = {
    outbox.ORDER_CONFIRMED: order_confirmed,
    outbox.ORDER_CANCELLED: order_undone,
    outbox.ORDER_REFUNDED: order_undone,
    outbox.SCREENING_CANCELLED: order_undone,
    outbox.REMINDER_DAY_BEFORE: reminder,
    outbox.REMINDER_SOON: reminder,
    outbox.PASSWORD_RESET: password_reset,
    outbox.WAITLIST_OFFER: waitlist_offer,
    outbox.MONTHLY_REPORT: monthly_report,
}


async def build(deps: ContentDeps, message: Mapping[str, Any]) -> Content:
    """Render a message row; Gone when what it is about has gone away."""
    async with deps.pool.acquire() as conn:
        return await BUILDERS[message["kind"]](deps, conn, message)
