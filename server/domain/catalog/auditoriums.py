"""Auditoriums and their seat maps: admin writes and the public seat-map read."""
from __future__ import annotations

from typing import Any, Mapping

import asyncpg

from server.domain import audit
from server.domain.catalog import seatmap
from server.domain.catalog.common import (
    Db, HasTickets, InUse, ScreeningPriceMissing, db_errors, merged, row,
)
from server.errors import NotFound
from server.queries import Queries

FIELDS = ("name", "category", "best_x", "best_y")


async def get_auditorium(db: Db, sql: Queries, auditorium_id: int) -> dict[str, Any]:
    """An auditorium with its cinema's name and seat counts; NotFound when unknown."""
    q = sql.catalog_cinemas
    found = row(await db.fetchrow(q.auditorium_get, auditorium_id))
    if found is None:
        raise NotFound(f"no auditorium {auditorium_id}")
    return found


async def seat_map(db: Db, sql: Queries, auditorium_id: int) -> dict[str, Any]:
    """{auditorium, seats, width, height}: the layout as stored, seats ordered front to back."""
    q = sql.catalog_cinemas
    auditorium = await get_auditorium(db, sql, auditorium_id)
    seats = [dict(r) for r in await db.fetch(q.seat_map, auditorium_id)]
    width = max((s["x"] for s in seats), default=-1.0) + 1
    height = max((s["y"] for s in seats), default=-1.0) + 1
    return {"auditorium": auditorium, "seats": seats, "width": width, "height": height}


async def create_auditorium(conn: asyncpg.Connection, sql: Queries, data: Mapping[str, Any], actor_id: int,
                            ip: str | None = None) -> dict[str, Any]:
    """Add an auditorium to a cinema, with its seat map when `seats` or `grid` is given."""
    q = sql.catalog_cinemas
    layout = _layout_in(data)
    cinema_id = int(data["cinema_id"])  # JSON Schema's integer admits 3.0
    if await conn.fetchrow(q.cinema_get, cinema_id) is None:
        raise NotFound(f"no cinema {cinema_id}", field="cinema_id")
    with db_errors("this cinema already has an auditorium of that name"):
        auditorium_id = await conn.fetchval(
            q.auditorium_insert, cinema_id, data["name"], data.get("category", "standard"),
            data.get("best_x"), data.get("best_y"),
        )
    details = {k: v for k, v in data.items() if k not in ("seats", "grid", "rows")}
    if layout is not None:
        await _store_seats(conn, sql, auditorium_id, layout)
        details["seat_count"] = len(layout)
    await audit.record(conn, actor_id, "auditorium.create", {"auditorium_id": auditorium_id, **details}, ip)
    return await get_auditorium(conn, sql, auditorium_id)


async def update_auditorium(conn: asyncpg.Connection, sql: Queries,
                            auditorium_id: int, changes: Mapping[str, Any],
                            actor_id: int, ip: str | None = None) -> dict[str, Any]:
    """Rename or re-categorise an auditorium, or move its best spot."""
    q = sql.catalog_cinemas
    current = row(await conn.fetchrow(q.auditorium_lock, auditorium_id))
    if current is None:
        raise NotFound(f"no auditorium {auditorium_id}")
    new = merged(current, changes)
    with db_errors("this cinema already has an auditorium of that name"):
        await conn.execute(q.auditorium_update, auditorium_id, *(new[f] for f in FIELDS))
    await audit.record(conn, actor_id, "auditorium.update", {"auditorium_id": auditorium_id, **dict(changes)}, ip)
    return await get_auditorium(conn, sql, auditorium_id)


async def delete_auditorium(conn: asyncpg.Connection, sql: Queries, auditorium_id: int, actor_id: int,
                            ip: str | None = None) -> None:
    """Remove an auditorium (and its seats) that never had a screening (409 in_use otherwise)."""
    q = sql.catalog_cinemas
    if await conn.fetchrow(q.auditorium_lock, auditorium_id) is None:
        raise NotFound(f"no auditorium {auditorium_id}")
    if await conn.fetchval(q.auditorium_has_screenings, auditorium_id):
        raise InUse("the auditorium has screenings; delete or keep them first")
    await conn.execute(q.auditorium_delete, auditorium_id)
    await audit.record(conn, actor_id, "auditorium.delete", {"auditorium_id": auditorium_id}, ip)


async def replace_seats(conn: asyncpg.Connection, sql: Queries, auditorium_id: int, body: Any, actor_id: int,
                        ip: str | None = None) -> dict[str, Any]:
    """Replace an auditorium's whole layout; refused (409) once tickets were sold for it."""
    q = sql.catalog_cinemas
    layout = seatmap.validate(seatmap.from_body(body))
    if await conn.fetchrow(q.auditorium_lock, auditorium_id) is None:
        raise NotFound(f"no auditorium {auditorium_id}")
    await _store_seats(conn, sql, auditorium_id, layout)
    await audit.record(conn, actor_id, "auditorium.seats", {"auditorium_id": auditorium_id,
                                                            "seat_count": len(layout)}, ip)
    return await seat_map(conn, sql, auditorium_id)


def _layout_in(data: Mapping[str, Any]) -> list[seatmap.SeatSpec] | None:
    if not any(k in data for k in ("seats", "grid", "rows")):
        return None
    return seatmap.validate(seatmap.from_body({k: data[k] for k in ("seats", "grid", "rows") if k in data}))


async def _store_seats(conn: asyncpg.Connection, sql: Queries,
                       auditorium_id: int, layout: list[seatmap.SeatSpec]) -> None:
    # Ticket rows reference seat rows (ON DELETE RESTRICT) and sold seats must keep meaning the
    # same place, so a layout with any ticket history is frozen.
    q = sql.catalog_cinemas
    if await conn.fetchval(q.auditorium_has_tickets, auditorium_id):
        raise HasTickets("tickets were sold in this auditorium; its seat map can no longer change")
    kinds = {s.kind for s in layout}
    for screening in await conn.fetch(q.auditorium_scheduled_prices, auditorium_id):
        missing = sorted(kinds - set(screening["prices"]))
        if missing:
            raise ScreeningPriceMissing(f"screening {screening['id']} has no price for {missing[0]} seats; "
                           "add it to the screening first", field=f"prices.{missing[0]}")
    await conn.execute(q.seats_delete, auditorium_id)
    inserted = await conn.fetch(
        q.seats_insert, auditorium_id, [s.row for s in layout], [s.number for s in layout],
        [s.x for s in layout], [s.y for s in layout], [s.kind for s in layout], [s.blocked for s in layout],
    )
    ids = {(r["row_label"], r["number"]): r["id"] for r in inserted}
    companions = [(ids[(s.row, s.number)], ids[s.companion_of]) for s in layout if s.companion_of]
    if companions:
        await conn.execute(q.seats_link_companions, [c[0] for c in companions], [c[1] for c in companions])
