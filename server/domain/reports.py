"""Reports and exports: sales figures for staff, CSV exports for admins, from PostgreSQL.

Sales are counted by the screening's start (its local day at its cinema, server/domain/days.py),
so a report for a week says how that week's shows sold, whenever the tickets were bought; the
orders export is the one that goes by when orders were placed. Every figure in money is integer
minor units. CSV times are ISO 8601 in the cinema's zone, with its offset; each row names the zone.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, AsyncIterator, Iterable, Sequence

import asyncpg

from server.domain import audit
from server.domain.days import DayRange
from server.errors import InvalidInput, NotFound
from server.zones import zone

MAX_DAYS = 366  # widest report or export, in days (a leap year)
DEFAULT_DAYS = 7  # a report without dates covers the last week through today
MAX_GROUPS = 5000  # most groups one JSON report carries; screenings.csv has no such limit
EXPORT_BATCH = 500  # rows fetched from the cursor and written to the client at once
# What names a group in each grouping (the `sales` query leaves the other key columns NULL).
GROUP_KEYS = {
    "day": ("day",),
    "movie": ("movie_id", "movie"),
    "cinema": ("cinema_id", "cinema", "time_zone"),
    "screening": ("screening_id", "starts_at", "day", "status", "movie_id", "movie", "cinema_id", "cinema",
                  "time_zone", "auditorium"),
}
GROUPS = tuple(GROUP_KEYS)
# What a period counts: "sold" = tickets sold (and orders refunded) in it, whatever day the show;
# "shown" = the screenings shown in it, whenever their tickets were bought.
BASES = ("sold", "shown")
TOTALS_BY = ("cinema", "movie")  # the per-cinema and per-movie CSV exports
FIGURES = ("screenings", "capacity", "sold", "takings", "refunds", "refund_amount")
# A spreadsheet evaluates a cell starting with these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def occupancy(sold: int, capacity: int) -> float:
    """Live tickets as a percentage of capacity, one decimal (0 when nothing is on sale)."""
    return round(100 * sold / capacity, 1) if capacity else 0.0


def _figures(row: asyncpg.Record) -> dict[str, Any]:
    out = {name: int(row[name] or 0) for name in FIGURES}
    out["occupancy"] = occupancy(out["sold"], out["capacity"])
    return out


def check_basis(basis: str) -> str:
    """`basis` if it is one of BASES, else InvalidInput naming the field."""
    if basis not in BASES:
        raise InvalidInput(f"basis must be one of {', '.join(BASES)}", field="basis")
    return basis


async def sales(
    pool: asyncpg.Pool, sql: SimpleNamespace, days: DayRange, group: str, currency: str, basis: str = "shown"
) -> dict[str, Any]:
    """Tickets, takings, refunds and occupancy on `days` (sold or shown then, by `basis`), per group, plus totals."""
    if group not in GROUP_KEYS:
        raise InvalidInput(f"group must be one of {', '.join(GROUPS)}", field="group")
    rows = await pool.fetch(sql.sales, *days.days, days.cinema_id, group, MAX_GROUPS + 2, check_basis(basis))
    totals: dict[str, Any] = {}
    groups: list[dict[str, Any]] = []
    for row in rows:
        if row["is_total"]:
            totals = _figures(row)
            continue
        groups.append({**{k: row[k] for k in GROUP_KEYS[group]}, **_figures(row)})
    return {
        "filter": {**days.describe(), "group": group, "basis": basis},
        "currency": currency,
        "groups": groups[:MAX_GROUPS],
        "truncated": len(groups) > MAX_GROUPS,
        "totals": totals or {**{name: 0 for name in FIGURES}, "occupancy": 0.0},
    }


async def screening_sales(pool: asyncpg.Pool, sql: SimpleNamespace, screening_id: int, currency: str) -> dict[str, Any]:
    """One screening: capacity, sold, takings by seat kind, checked in, orders by status."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        head = await conn.fetchrow(sql.screening_head, screening_id)
        if head is None:
            raise NotFound("no such screening")
        kinds = await conn.fetch(sql.screening_by_kind, screening_id)
        statuses = await conn.fetch(sql.screening_orders_by_status, screening_id)
    by_kind = {r["kind"]: {"capacity": r["capacity"], "sold": r["sold"], "takings": r["takings"],
                           "checked_in": r["checked_in"]} for r in kinds}
    sold = sum(k["sold"] for k in by_kind.values())
    capacity = head["capacity"] if head["status"] == "scheduled" else 0
    return {
        **dict(head),
        "capacity": capacity,
        "sold": sold,
        "takings": sum(k["takings"] for k in by_kind.values()),
        "checked_in": sum(k["checked_in"] for k in by_kind.values()),
        "occupancy": occupancy(sold, capacity),
        "by_kind": by_kind,
        "orders": {r["status"]: {"count": r["orders"], "amount": r["amount"]} for r in statuses},
        "currency": currency,
    }


@dataclass(frozen=True)
class Export:
    """One CSV export: its header, the named query and arguments that give its rows."""

    name: str
    header: tuple[str, ...]
    query: str
    args: tuple[Any, ...]
    filters: dict[str, Any]
    filename: str
    screening_id: int | None = field(default=None)


def orders_export(days: DayRange) -> Export:
    """Orders placed on `days` (local days at their screening's cinema), optionally of one cinema."""
    return Export(
        "orders",
        ("order_key", "created_at", "status", "customer_email", "screening_id", "movie", "cinema",
         "starts_at", "seats", "amount", "currency", "time_zone"),
        "export_orders", (*days.days, days.cinema_id), days.describe(),
        f"orders-{days.first}-{days.last}.csv",
    )


def tickets_export(screening_id: int) -> Export:
    """Every ticket of one screening, live and cancelled."""
    return Export(
        "tickets",
        ("ticket_id", "order_key", "row", "number", "kind", "price", "status", "checked_in_at", "time_zone"),
        "export_tickets", (screening_id,), {"screening_id": screening_id},
        f"tickets-screening-{screening_id}.csv", screening_id=screening_id,
    )


def screenings_export(days: DayRange, currency: str) -> Export:
    """Screenings starting on `days` (local days at their cinema) with capacity, tickets sold and takings."""
    return Export(
        "screenings",
        ("screening_id", "movie", "cinema", "auditorium", "starts_at", "status", "capacity", "sold",
         "takings", "currency", "time_zone"),
        "export_screenings", (*days.days, days.cinema_id, currency), days.describe(),
        f"screenings-{days.first}-{days.last}.csv",
    )


def totals_export(days: DayRange, by: str, basis: str, currency: str) -> Export:
    """Per cinema or per movie (`by`): screenings, capacity, tickets, takings and refunds on `days`."""
    if by not in TOTALS_BY:
        raise InvalidInput(f"by must be one of {', '.join(TOTALS_BY)}", field="by")
    return Export(
        f"{by}s",
        (f"{by}_id", by, "screenings", "capacity", "sold", "takings", "refunds", "refund_amount", "currency"),
        "export_totals", (*days.days, days.cinema_id, by, check_basis(basis), currency),
        {**days.describe(), "basis": basis}, f"{by}s-{basis}-{days.first}-{days.last}.csv",
    )


async def start_export(
    pool: asyncpg.Pool, sql: SimpleNamespace, export: Export, user_id: int, ip: str | None
) -> None:
    """Check what the export names exists, then write it to the audit trail (before any row leaves)."""
    if export.screening_id is not None and not await pool.fetchval(sql.screening_exists, export.screening_id):
        raise NotFound("no such screening")
    await audit.record(pool, user_id, f"export.{export.name}", {"export": export.name, "filters": export.filters}, ip)


def safe_cell(value: Any, time_zone: str = "UTC") -> Any:
    """A CSV cell: text a spreadsheet would run as a formula gets a leading quote; times are ISO 8601
    in `time_zone` with its offset (UTC as Z)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone(time_zone)).isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[Sequence[Any]], zone_column: int | None = None) -> bytes:
    """Rows as CSV (RFC 4180 line ends), every cell passed through safe_cell, UTF-8; times in the
    zone named by each row's `zone_column` (UTC without one)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        time_zone = row[zone_column] if zone_column is not None else "UTC"
        writer.writerow([safe_cell(v, time_zone) for v in row])
    return buffer.getvalue().encode("utf-8")


async def export_chunks(
    pool: asyncpg.Pool, sql: SimpleNamespace, export: Export, batch: int = EXPORT_BATCH
) -> AsyncIterator[bytes]:
    """The export as CSV chunks: the header, then `batch` rows at a time from a server-side cursor."""
    yield csv_bytes([export.header])
    # A cursor needs a transaction; repeatable read makes the whole file one consistent snapshot.
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        cursor = await conn.cursor(getattr(sql, export.query), *export.args)
        while rows := await cursor.fetch(batch):
            yield csv_bytes(rows, export.header.index("time_zone") if "time_zone" in export.header else None)
