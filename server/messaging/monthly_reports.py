"""The monthly report as a document: HTML and PDF from one autoescaped template, with SVG charts.

The page (/api/reports/monthly?format=html), the PDF (format=pdf, WeasyPrint off the event loop)
and the archived copy the monthly job emails are the same template rendered from the same
figures (server/domain/monthly.py), so they cannot disagree. deliver_monthly_reports is the
monthly job: archive (report_archive, migration 010) and email through the outbox.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import asyncpg
import jinja2
from markupsafe import Markup

from server.config import ROOT, Settings
from server.domain import charts, outbox
from server.domain.monthly import Month, monthly
from server.messaging.content import money
from server.messaging.documents import pdf_from_html
from server.queries import Queries
from server.zones import local_date, zone

log = logging.getLogger(__name__)

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOT / "templates" / "reports")),
                          autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                          trim_blocks=True, lstrip_blocks=True)
_ENV.filters["money"] = money


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def report_charts(r: dict[str, Any]) -> dict[str, Markup]:
    """The report's SVG charts: daily takings line, occupancy bars, velocity bars."""
    cur = r["currency"]
    occ = [(g["label"], g["occupancy"]) for g in r["by_screen"]]
    return {
        "daily": charts.line("Takings per day", [(d["label"], d["takings"]) for d in r["by_day"]],
                             lambda v: money(int(v), cur)),
        "screens": charts.bars("Occupancy by screen", occ, _pct, scale=100, mark=r["summary"]["occupancy"]),
        "films": charts.bars("Tickets by film", [(g["label"], g["sold"]) for g in r["by_film"]],
                             lambda v: str(int(v))),
        "weekdays": charts.columns("Occupancy by weekday", [(g["label"], g["occupancy"]) for g in r["by_weekday"]],
                                   _pct),
        "hours": charts.columns("Occupancy by start hour", [(g["label"][:2], g["occupancy"]) for g in r["by_hour"]],
                                _pct),
        "velocity": charts.bars("When tickets were sold", [(v["label"], v["share"]) for v in r["velocity"]], _pct,
                                scale=100),
    }


def render_html(report: dict[str, Any], time_zone: str) -> str:
    """The report as one standalone HTML document (inline CSS and SVG), as shown and as printed."""
    generated = dt.datetime.fromisoformat(report["generated_at"]).astimezone(zone(time_zone))
    r = {**report, "generated_local": generated.strftime("%d %b %Y %H:%M %Z")}
    return _ENV.get_template("monthly.html").render(r=r, charts=report_charts(report))


async def render_pdf(report: dict[str, Any], time_zone: str) -> bytes:
    """The same document as PDF bytes (A4)."""
    return await pdf_from_html(render_html(report, time_zone))


async def _deliver_one(conn: asyncpg.Connection, sql: Queries, settings: Settings, cinema: dict[str, Any] | None,
                       now: dt.datetime) -> int | None:
    """Claim, render, store and queue the email of one cinema's (None: the chain's) last local month;
    the archive id, or None when the report exists already. Call inside a transaction."""
    time_zone = cinema["time_zone"] if cinema else settings.catalog.default_time_zone
    month = Month(local_date(now, time_zone).replace(day=1)).previous()
    cinema_id = cinema["id"] if cinema else None
    title = f"{cinema['name'] if cinema else 'All cinemas'} - {month.name}"
    # A second worker's INSERT waits on this one's unique key until it commits, then adds nothing.
    archive_id = await conn.fetchval(sql.monthly.archive_claim, cinema_id, month.first, title, now)
    if archive_id is None:
        return None
    report = await monthly(conn, sql.monthly, cinema_id, month, now, settings.checkout.currency)
    html = render_html(report, time_zone)
    await conn.execute(sql.monthly.archive_store, archive_id, html, await pdf_from_html(html),
                       {"summary": report["summary"]}, now)
    recipients = await conn.fetch(sql.monthly.report_recipients, cinema_id)
    for user in recipients:
        await outbox.enqueue(conn, sql.outbox, kind=outbox.MONTHLY_REPORT, subject=f"{archive_id}:{user['id']}",
                             user_id=user["id"], now=now, payload={"archive_id": archive_id})
    await conn.execute(sql.monthly.archive_emailed, archive_id, len(recipients))
    return archive_id


async def deliver_monthly_reports(pool: asyncpg.Pool, sql: Queries, settings: Settings, now: dt.datetime) -> list[int]:
    """Every cinema's and the chain's report of the local month before `now`, if not made yet: stored
    in report_archive and emailed (PDF attached) to admins and the cinema's managers. Run often (the
    periodic job runs every 15 minutes): a report is made once, on the first run of its cinema's
    new month, however many workers run it. The archive ids made."""
    made = []
    cinemas: list[dict[str, Any] | None] = [dict(c) for c in await pool.fetch(sql.monthly.report_cinemas)]
    for cinema in [None, *cinemas]:
        async with pool.acquire() as conn, conn.transaction():
            archive_id = await _deliver_one(conn, sql, settings, cinema, now)
        if archive_id is not None:
            made.append(archive_id)
            log.info("monthly report %d made: %s", archive_id, cinema["name"] if cinema else "the chain")
    return made
