"""Screenings: scheduling (no overlaps, a price for every seat kind), moving, cancelling, public reads."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import asyncpg

from server.domain import audit, days
from server.domain.catalog.auditoriums import seat_map
from server.domain.catalog.common import (
    Db, HasTickets, InUse, MissingPrice, db_errors, parse_instant, row, time_range,
)
from server.errors import InvalidInput, NotFound, error_class
from server.queries import Queries

# Time between the end of the film and the next screening's start, for cleaning.
CLEANING_MINUTES = 20
AuditoriumEmpty = error_class("AuditoriumEmpty", 409, "auditorium_empty")
ScreeningCancelled = error_class("ScreeningCancelled", 409, "screening_cancelled")
MOVE_FIELDS = ("auditorium_id", "movie_id", "starts_at", "ends_at")


async def get_screening(db: Db, sql: Queries, screening_id: int) -> dict[str, Any]:
    """Movie, cinema, auditorium, times, prices, status and capacity of one screening."""
    q = sql.catalog_screenings
    found = row(await db.fetchrow(q.screening_get, screening_id))
    if found is None:
        raise NotFound(f"no screening {screening_id}")
    return found


async def list_screenings(db: Db, sql: Queries, query: Mapping[str, Any], now: dt.datetime,
                          default_zone: str) -> dict[str, Any]:
    """Screenings by cinema, movie, start range (from defaults to `now`) and words (`q`), soonest
    first, a page at a time with the `total` of matches. Bare dates are local days of the chosen
    cinema (of catalog.default_time_zone without one)."""
    q = sql.catalog_screenings
    bare_date = any(len(query.get(name) or "") == 10 for name in ("from", "to"))
    time_zone = await days.zone_of(db, sql.days, query.get("cinema_id"), default_zone) if bare_date else "UTC"
    start, end = time_range(query, time_zone)
    start = start or now
    status = query.get("status", "scheduled")
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    words = (query.get("q") or "").strip() or None
    rows = await db.fetch(q.screening_list, query.get("cinema_id"), query.get("movie_id"), start, end,
                          None if status == "any" else status, limit, offset, words)
    total = rows[0]["total"] if rows else await _total_past_the_end(db, q, query, start, end, status, words)
    screenings = [{k: v for k, v in r.items() if k != "total"} for r in rows]
    return {"screenings": screenings, "total": total, "limit": limit, "offset": offset}


async def _total_past_the_end(db: Db, q: Any, query: Mapping[str, Any], start: dt.datetime,
                              end: dt.datetime | None, status: str, words: str | None) -> int:
    """The total when the page asked for lies past the last match (the window count sees no row)."""
    if not query.get("offset"):
        return 0
    rows = await db.fetch(q.screening_list, query.get("cinema_id"), query.get("movie_id"), start, end,
                          None if status == "any" else status, 1, 0, words)
    return rows[0]["total"] if rows else 0


async def screening_seats(db: Db, sql: Queries, screening_id: int) -> dict[str, Any]:
    """The auditorium's seat map for a screening, with the screening's prices."""
    q = sql.catalog_screenings
    auditorium_id = await db.fetchval(q.screening_exists, screening_id)
    if auditorium_id is None:
        raise NotFound(f"no screening {screening_id}")
    screening = await get_screening(db, sql, screening_id)
    layout = await seat_map(db, sql, auditorium_id)
    return {"screening_id": screening_id, "status": screening["status"], "prices": screening["prices"], **layout}


async def booked(db: Db, sql: Queries, screening_id: int) -> dict[str, Any]:
    """Seat ids of live tickets (from PostgreSQL, never cached) and the counts."""
    q = sql.catalog_screenings
    if await db.fetchval(q.screening_exists, screening_id) is None:
        raise NotFound(f"no screening {screening_id}")
    found = await db.fetchrow(q.screening_booked, screening_id)
    seat_ids, capacity = list(found["seat_ids"]), found["capacity"]
    return {"screening_id": screening_id, "seat_ids": seat_ids,
            "counts": {"booked": len(seat_ids), "capacity": capacity, "free": max(0, capacity - len(seat_ids))}}


async def create_screening(conn: asyncpg.Connection, sql: Queries, data: Mapping[str, Any], actor_id: int,
                           ip: str | None = None, *, default_orphan_rule: bool = True) -> dict[str, Any]:
    """Schedule a screening; ends_at defaults to start + runtime + cleaning time."""
    q = sql.catalog_screenings
    auditorium_id, movie_id = int(data["auditorium_id"]), int(data["movie_id"])
    starts_at = parse_instant(data["starts_at"], "starts_at", need_offset=True)
    ends_at = await _ends_at(conn, sql, movie_id, starts_at, data.get("ends_at"))
    prices = await _checked_prices(conn, sql, auditorium_id, data["prices"])
    orphan_rule = data.get("orphan_rule", default_orphan_rule)
    with db_errors():
        screening_id = await conn.fetchval(q.screening_insert, auditorium_id, movie_id, starts_at, ends_at,
                                           prices, orphan_rule)
    await audit.record(conn, actor_id, "screening.create", {"screening_id": screening_id, **dict(data)}, ip)
    return await get_screening(conn, sql, screening_id)


async def update_screening(conn: asyncpg.Connection, sql: Queries,
                           screening_id: int, changes: Mapping[str, Any],
                           actor_id: int, ip: str | None = None) -> dict[str, Any]:
    """Change prices or the orphan rule; move it (time, auditorium, movie) only while no tickets exist."""
    q = sql.catalog_screenings
    current = await _locked(conn, sql, screening_id)
    if current["status"] == "cancelled":
        raise ScreeningCancelled("a cancelled screening cannot change")
    new = {**current, **{k: int(changes[k]) for k in ("auditorium_id", "movie_id") if k in changes}}
    new["orphan_rule"] = changes.get("orphan_rule", current["orphan_rule"])
    if "starts_at" in changes:
        new["starts_at"] = parse_instant(changes["starts_at"], "starts_at", need_offset=True)
    if "ends_at" in changes:
        new["ends_at"] = await _ends_at(conn, sql, new["movie_id"], new["starts_at"], changes["ends_at"])
    elif new["starts_at"] != current["starts_at"] or new["movie_id"] != current["movie_id"]:
        new["ends_at"] = await _ends_at(conn, sql, new["movie_id"], new["starts_at"], None)
    # Only a real change is a move: an edit form resending the same time is fine after sales.
    moved = [k for k in MOVE_FIELDS if new[k] != current[k]]
    if moved and await conn.fetchval(q.screening_live_tickets, screening_id):
        raise HasTickets("tickets are sold for this screening: it cannot be moved (cancel it instead)",
                         field=moved[0])
    new["prices"] = await _checked_prices(conn, sql, new["auditorium_id"],
                                          changes.get("prices", current["prices"]))
    with db_errors():
        await conn.execute(q.screening_update, screening_id, *(new[k] for k in (
            "auditorium_id", "movie_id", "starts_at", "ends_at", "prices", "orphan_rule")))
    await audit.record(conn, actor_id, "screening.update", {"screening_id": screening_id, **dict(changes)}, ip)
    return await get_screening(conn, sql, screening_id)


async def delete_screening(conn: asyncpg.Connection, sql: Queries, screening_id: int, actor_id: int,
                           ip: str | None = None) -> None:
    """Remove a screening nobody ordered for; with tickets or orders it can only be cancelled (409)."""
    q = sql.catalog_screenings
    await _locked(conn, sql, screening_id)
    if await conn.fetchval(q.screening_live_tickets, screening_id):
        raise HasTickets("tickets are sold for this screening: cancel it instead")
    if await conn.fetchval(q.screening_has_orders, screening_id):
        raise InUse("orders exist for this screening: cancel it instead")
    await conn.execute(q.screening_delete, screening_id)
    await audit.record(conn, actor_id, "screening.delete", {"screening_id": screening_id}, ip)


async def cancel_screening(conn: asyncpg.Connection, sql: Queries, screening_id: int, actor_id: int | None,
                           ip: str | None = None) -> dict[str, Any]:
    """Set a screening's status to cancelled (idempotent) and return its row.

    Call inside the caller's transaction; services.catalog.cancel_screening refunds its orders after.
    """
    q = sql.catalog_screenings
    current = await _locked(conn, sql, screening_id)
    if current["status"] == "cancelled":
        return current
    cancelled = dict(await conn.fetchrow(q.screening_cancel, screening_id))
    await audit.record(conn, actor_id, "screening.cancel", {"screening_id": screening_id}, ip)
    return cancelled


async def _locked(conn: asyncpg.Connection, sql: Queries, screening_id: int) -> dict[str, Any]:
    q = sql.catalog_screenings
    current = row(await conn.fetchrow(q.screening_lock, screening_id))
    if current is None:
        raise NotFound(f"no screening {screening_id}")
    return current


async def _ends_at(conn: asyncpg.Connection, sql: Queries, movie_id: int, starts_at: dt.datetime,
                   given: str | None) -> dt.datetime:
    q = sql.catalog_screenings
    runtime = await conn.fetchval(q.movie_runtime, movie_id)
    if runtime is None:
        raise NotFound(f"no movie {movie_id}", field="movie_id")
    if given is None:
        return starts_at + dt.timedelta(minutes=runtime + CLEANING_MINUTES)
    ends_at = parse_instant(given, "ends_at", need_offset=True)
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")
    if ends_at - starts_at > dt.timedelta(hours=24):
        raise InvalidInput("a screening lasts at most 24 hours", field="ends_at")
    return ends_at


async def _checked_prices(conn: asyncpg.Connection, sql: Queries,
                          auditorium_id: int, prices: Mapping[str, Any]) -> dict[str, int]:
    """Prices must name every seat kind present in the auditorium (integer minor units >= 0)."""
    q = sql.catalog_screenings
    if not await conn.fetchval(q.auditorium_exists, auditorium_id):
        raise NotFound(f"no auditorium {auditorium_id}", field="auditorium_id")
    kinds = sorted(await conn.fetchval(q.auditorium_kinds, auditorium_id))
    if not kinds:
        raise AuditoriumEmpty("the auditorium has no seats yet: give it a seat map first", field="auditorium_id")
    for kind in kinds:
        if kind not in prices:
            raise MissingPrice(f"no price for {kind} seats", field=f"prices.{kind}")
    return {kind: int(value) for kind, value in prices.items()}
