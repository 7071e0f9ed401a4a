"""Reports (staff) and CSV exports (admin): thin handlers over server.domain.reports."""
from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.api.report_archive import report_html
from server.domain import days as local_days, reports
from server.domain.days import DayRange
from server.domain.monthly import Month, monthly as monthly_report
from server.domain.reports import DEFAULT_DAYS, MAX_DAYS, Export
from server.messaging.monthly_reports import render_html, render_pdf
from server.zones import local_date

TAG = "reports"
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$",
         "description": "YYYY-MM-DD, inclusive: a local day at each screening's cinema"}
_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
_COUNT = {"type": "integer", "minimum": 0}
_RANGE = (f"`from`..`to` are whole local days at each screening's cinema (its time zone), inclusive, at most "
          f"{MAX_DAYS} days.")

_BASIS = {"type": "string", "enum": list(reports.BASES), "default": "sold",
          "description": "sold: tickets sold (and orders refunded) in the period, whatever day the show; "
                         "shown: the screenings shown in the period, whenever their tickets were bought"}
SALES_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"from": _DATE, "to": _DATE, "cinema_id": _ID, "basis": _BASIS,
                   "group": {"type": "string", "enum": list(reports.GROUPS), "default": "day"}},
}
FIGURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {**{name: _COUNT for name in reports.FIGURES}, "occupancy": {"type": "number"}},
}
SALES_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["filter", "currency", "groups", "totals", "truncated"],
    "properties": {
        "filter": {"type": "object"},
        "currency": {"type": "string"},
        "groups": {"type": "array", "items": FIGURES_SCHEMA},
        "truncated": {"type": "boolean"},
        "totals": FIGURES_SCHEMA,
    },
}
SCREENING_RESPONSE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "screening_id": {"type": "integer"}, "movie": {"type": "string"}, "cinema": {"type": "string"},
        "auditorium": {"type": "string"}, "starts_at": {"type": "string", "format": "date-time"},
        "time_zone": {"type": "string", "description": "the cinema's IANA time zone"},
        "status": {"type": "string"}, "capacity": _COUNT, "blocked": _COUNT, "sold": _COUNT,
        "takings": _COUNT, "checked_in": _COUNT, "occupancy": {"type": "number"},
        "by_kind": {"type": "object", "additionalProperties": {"type": "object"}},
        "orders": {"type": "object", "additionalProperties": {"type": "object"}},
        "currency": {"type": "string"},
    },
}
RANGE_EXPORT_QUERY: dict[str, Any] = {
    "type": "object",
    "required": ["from", "to"],
    "additionalProperties": False,
    "properties": {"from": _DATE, "to": _DATE, "cinema_id": _ID},
}
TOTALS_EXPORT_QUERY: dict[str, Any] = {
    "type": "object",
    "required": ["from", "to"],
    "additionalProperties": False,
    "properties": {"from": _DATE, "to": _DATE, "cinema_id": _ID, "basis": _BASIS},
}
TICKETS_EXPORT_QUERY: dict[str, Any] = {
    "type": "object",
    "required": ["screening_id"],
    "additionalProperties": False,
    "properties": {"screening_id": _ID},
}
CSV = {"type": "string", "description": "text/csv; charset=utf-8"}


@endpoint(
    "Sales per day, movie, cinema or screening, with totals", tag=TAG, role="staff",
    query=SALES_QUERY, response=SALES_RESPONSE,
    description=(
        "Sales within the range, optionally of one cinema, grouped by `group` (default day). `basis` says "
        "which question: `sold` (default) = tickets sold and orders refunded on those days, whatever day the "
        "show (a screening's day group is its show day); `shown` = screenings starting on those days. "
        f"Without from/to: the {DEFAULT_DAYS} days through today (the cinema's today, or "
        "catalog.default_time_zone's for all cinemas); `filter` says which days. sold = live tickets; "
        "takings = their prices; refunds / refund_amount = orders refunded or cancelled after payment; "
        "capacity excludes blocked seats (0 for a cancelled "
        f"screening); occupancy = sold / capacity in percent. Money in minor units of `currency`. {_RANGE}"
    ),
)
async def sales(request: web.Request) -> web.Response:
    """GET /api/reports/sales."""
    report = await reports.sales(
        request.app[keys.DB], request.app[keys.QUERIES].reports, await _days(request),
        request[keys.QUERY].get("group", "day"), request.app[keys.SETTINGS].checkout.currency,
        request[keys.QUERY].get("basis", "sold"),
    )
    return json_response(report)


async def _days(request: web.Request) -> DayRange:
    """The query's from/to/cinema_id as local days; no dates means the last week through today."""
    q, app = request[keys.QUERY], request.app
    return await local_days.resolve(
        DayRange.parse(q.get("cinema_id"), None, q.get("from"), q.get("to")), db=app[keys.DB],
        sql=app[keys.QUERIES].days, clock=app[keys.CLOCK],
        default_zone=app[keys.SETTINGS].catalog.default_time_zone, default_days=DEFAULT_DAYS, max_days=MAX_DAYS,
    )


@endpoint(
    "One screening's sales: by seat kind, check-ins and orders by status", tag=TAG, role="staff",
    response=SCREENING_RESPONSE,
    description="by_kind: seat kind -> capacity, sold, takings, checked_in; orders: status -> count, amount.",
)
async def screening(request: web.Request) -> web.Response:
    """GET /api/reports/screenings/{id}."""
    report = await reports.screening_sales(
        request.app[keys.DB], request.app[keys.QUERIES].reports, int(request.match_info["id"]),
        request.app[keys.SETTINGS].checkout.currency,
    )
    return json_response(report)


async def _stream(request: web.Request, export: Export) -> web.StreamResponse:
    """Audit the export, then stream it as an attachment, batch by batch."""
    pool, sql = request.app[keys.DB], request.app[keys.QUERIES].reports
    await reports.start_export(pool, sql, export, request[keys.USER].user_id, request.remote)
    response = web.StreamResponse(headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})
    response.content_type = "text/csv"
    response.charset = "utf-8"
    await response.prepare(request)
    async with contextlib.aclosing(reports.export_chunks(pool, sql, export)) as chunks:
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


@endpoint(
    "Export orders as CSV", tag=TAG, role="admin", query=RANGE_EXPORT_QUERY, response=CSV,
    media=("text/csv",),
    description=(
        "CSV (text/csv, attachment): order_key, created_at, status, customer_email, screening_id, movie, "
        "cinema, starts_at, seats, amount, currency, time_zone, for orders PLACED within the range "
        "(optionally for one cinema's screenings). Times are ISO 8601 in the row's time_zone (the "
        f"cinema's) with its offset. Audited. {_RANGE}"
    ),
)
async def export_orders(request: web.Request) -> web.StreamResponse:
    """GET /api/exports/orders.csv."""
    return await _stream(request, reports.orders_export(await _days(request)))


@endpoint(
    "Export one screening's tickets as CSV", tag=TAG, role="admin", query=TICKETS_EXPORT_QUERY, response=CSV,
    media=("text/csv",),
    errors=(404,),
    description=(
        "CSV (text/csv, attachment): ticket_id, order_key, row, number, kind, price, status, checked_in_at, "
        "time_zone for every ticket (live and cancelled) of the screening; checked_in_at in the cinema's "
        "zone. Audited."
    ),
)
async def export_tickets(request: web.Request) -> web.StreamResponse:
    """GET /api/exports/tickets.csv."""
    return await _stream(request, reports.tickets_export(request[keys.QUERY]["screening_id"]))


@endpoint(
    "Export screenings with their sales as CSV", tag=TAG, role="admin", query=RANGE_EXPORT_QUERY, response=CSV,
    media=("text/csv",),
    description=(
        "CSV (text/csv, attachment): screening_id, movie, cinema, auditorium, starts_at, status, capacity, "
        "sold, takings, currency, time_zone for screenings starting within the range (starts_at in the "
        f"cinema's zone). Audited. {_RANGE}"
    ),
)
async def export_screenings(request: web.Request) -> web.StreamResponse:
    """GET /api/exports/screenings.csv."""
    currency = request.app[keys.SETTINGS].checkout.currency
    return await _stream(request, reports.screenings_export(await _days(request), currency))


def _totals_endpoint(by: str) -> Any:
    @endpoint(
        f"Export {by} totals as CSV", tag=TAG, role="admin", query=TOTALS_EXPORT_QUERY, response=CSV,
        media=("text/csv",),
        description=(
            f"CSV (text/csv, attachment): {by}_id, {by}, screenings, capacity, sold, takings, refunds, "
            "refund_amount, currency: one row per " + by + " with sales in the range, on `basis` (sold, the "
            f"default, or shown: as in /api/reports/sales). Audited. {_RANGE}"
        ),
    )
    async def export_totals(request: web.Request) -> web.StreamResponse:
        q = request[keys.QUERY]
        export = reports.totals_export(await _days(request), by, q.get("basis", "sold"),
                                       request.app[keys.SETTINGS].checkout.currency)
        return await _stream(request, export)

    export_totals.__doc__ = f"GET /api/exports/{by}s.csv."
    return export_totals


export_cinemas = _totals_endpoint("cinema")
export_movies = _totals_endpoint("movie")


MONTHLY_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cinema_id": _ID,
        "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$", "description": "YYYY-MM, a local month"},
        "format": {"type": "string", "enum": ["json", "html", "pdf"], "default": "json"},
    },
}


@endpoint(
    "Monthly report of one cinema or the chain (JSON, HTML or PDF)", tag=TAG, role="staff", query=MONTHLY_QUERY,
    response={"type": "object"}, errors=(404,), media=("application/json", "text/html", "application/pdf"),
    description=(
        "The screenings SHOWN in a local month (each cinema's calendar month; default: the current one at the "
        "cinema, or in catalog.default_time_zone for the chain): summary (gross, refund_amount, net, tickets, "
        "capacity, occupancy, houseful, no_shows...), by_screen, by_film, by_weekday, by_hour, by_day, top, "
        "bottom, velocity. format=html is the printable page, format=pdf the same page as PDF (WeasyPrint)."
    ),
)
async def monthly(request: web.Request) -> web.StreamResponse:
    """GET /api/reports/monthly."""
    q, app = request[keys.QUERY], request.app
    cinema_id = q.get("cinema_id")
    settings = app[keys.SETTINGS]
    time_zone = await local_days.zone_of(app[keys.DB], app[keys.QUERIES].days, cinema_id,
                                         settings.catalog.default_time_zone)
    now = app[keys.CLOCK].now()
    month = Month.parse(q.get("month"), local_date(now, time_zone))
    report = await monthly_report(app[keys.DB], app[keys.QUERIES].monthly, cinema_id, month, now,
                                  settings.checkout.currency)
    fmt = q.get("format", "json")
    if fmt == "json":
        return json_response(report)
    if fmt == "html":
        return report_html(render_html(report, time_zone))
    name = f"houseful-report-{'chain' if cinema_id is None else f'cinema-{cinema_id}'}-{month}.pdf"
    return web.Response(body=await render_pdf(report, time_zone), content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})
