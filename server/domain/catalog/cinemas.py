"""Cinemas: admin writes, the public list (by city, or nearest first) and what is showing at one."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Mapping

import asyncpg

from server import zones
from server.domain import audit
from server.domain.catalog.common import Db, InUse, db_errors, merged, row, time_range
from server.errors import InvalidInput, NotFound
from server.queries import Queries

FIELDS = ("name", "city", "address", "latitude", "longitude", "rating", "time_zone")
COORDINATE_DECIMALS = 7  # about 1 cm


def coordinate(value: float, field: str) -> float:
    """A finite latitude/longitude kept to 7 decimals: a sub-normal such as -5e-324 becomes 0, so
    the haversine in PostgreSQL can never underflow (which it reports as an error, not as 0)."""
    if not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number", field=field)
    return round(value, COORDINATE_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _located(data: Mapping[str, Any]) -> dict[str, Any]:
    """data with its latitude and longitude (where given) passed through coordinate()."""
    return {k: coordinate(v, k) if k in ("latitude", "longitude") and v is not None else v
            for k, v in data.items()}


async def get_cinema(db: Db, sql: Queries, cinema_id: int) -> dict[str, Any]:
    """One cinema with its auditoriums; NotFound when unknown."""
    q = sql.catalog_cinemas
    cinema = row(await db.fetchrow(q.cinema_get, cinema_id))
    if cinema is None:
        raise NotFound(f"no cinema {cinema_id}")
    cinema["auditoriums"] = [dict(r) for r in await db.fetch(q.cinema_auditoriums, cinema_id)]
    return cinema


def _checked_zone(name: str) -> str:
    if not zones.is_zone(name):
        raise InvalidInput("time_zone must be an IANA time zone such as Europe/London", field="time_zone")
    return name


async def create_cinema(conn: asyncpg.Connection, sql: Queries, data: Mapping[str, Any], actor_id: int,
                        ip: str | None = None, *, default_time_zone: str) -> dict[str, Any]:
    """Add a cinema (409 duplicate_name when the city already has one of that name); its time zone
    defaults to catalog.default_time_zone."""
    q = sql.catalog_cinemas
    data = _located(data)
    values = [data.get(f) for f in FIELDS]
    values[2] = values[2] or ""
    values[6] = _checked_zone(data.get("time_zone") or default_time_zone)
    with db_errors("this city already has a cinema of that name"):
        cinema_id = await conn.fetchval(q.cinema_insert, *values)
    await audit.record(conn, actor_id, "cinema.create", {"cinema_id": cinema_id, **dict(data)}, ip)
    return await get_cinema(conn, sql, cinema_id)


async def update_cinema(conn: asyncpg.Connection, sql: Queries,
                        cinema_id: int, changes: Mapping[str, Any], actor_id: int,
                        ip: str | None = None) -> dict[str, Any]:
    """Change some fields of a cinema."""
    q = sql.catalog_cinemas
    current = row(await conn.fetchrow(q.cinema_lock, cinema_id))
    if current is None:
        raise NotFound(f"no cinema {cinema_id}")
    new = merged(current, _located(changes))
    _checked_zone(new["time_zone"])
    with db_errors("this city already has a cinema of that name"):
        await conn.execute(q.cinema_update, cinema_id, *(new[f] for f in FIELDS))
    await audit.record(conn, actor_id, "cinema.update", {"cinema_id": cinema_id, **dict(changes)}, ip)
    return await get_cinema(conn, sql, cinema_id)


async def delete_cinema(conn: asyncpg.Connection, sql: Queries,
                        cinema_id: int, actor_id: int, ip: str | None = None) -> None:
    """Remove a cinema that has no auditoriums (409 in_use otherwise)."""
    q = sql.catalog_cinemas
    if await conn.fetchrow(q.cinema_lock, cinema_id) is None:
        raise NotFound(f"no cinema {cinema_id}")
    if await conn.fetchval(q.cinema_has_auditoriums, cinema_id):
        raise InUse("delete the cinema's auditoriums first")
    await conn.execute(q.cinema_delete, cinema_id)
    await audit.record(conn, actor_id, "cinema.delete", {"cinema_id": cinema_id}, ip)


async def list_cinemas(db: Db, sql: Queries, query: Mapping[str, Any]) -> dict[str, Any]:
    """Cinemas, optionally in one city; with lat & lon, nearest first with distance_km."""
    q = sql.catalog_cinemas
    city, limit, offset = query.get("city"), query.get("limit", 50), query.get("offset", 0)
    lat, lon = query.get("lat"), query.get("lon")
    if (lat is None) != (lon is None):
        raise InvalidInput("give lat and lon together", field="lon" if lon is None else "lat")
    if lat is None:
        rows = await db.fetch(q.cinema_list, city, limit, offset)
    else:
        lat, lon = coordinate(lat, "lat"), coordinate(lon, "lon")
        rows = await db.fetch(q.cinema_nearest, city, lat, lon, limit, offset)
    return {"cinemas": [dict(r) for r in rows], "limit": limit, "offset": offset}


async def cinema_movies(db: Db, sql: Queries, cinema_id: int, query: Mapping[str, Any],
                        now: dt.datetime) -> dict[str, Any]:
    """Movies with scheduled screenings at a cinema (from `now` on, or in from/to: bare dates are the
    cinema's local days), each with those screenings."""
    q = sql.catalog_cinemas
    cinema = row(await db.fetchrow(q.cinema_get, cinema_id))
    if cinema is None:
        raise NotFound(f"no cinema {cinema_id}")
    start, end = time_range(query, cinema["time_zone"])
    start = start or now
    movies: dict[int, dict[str, Any]] = {}
    for r in await db.fetch(q.cinema_showings, cinema_id, start, end):
        movie = movies.get(r["movie_id"])
        if movie is None:
            movie = movies[r["movie_id"]] = {
                "id": r["movie_id"], "title": r["title"], "director": r["director"], "cast": r["cast"],
                "synopsis": r["synopsis"], "runtime_minutes": r["runtime_minutes"],
                "certificate": r["certificate"], "score": r["score"], "release_date": r["release_date"],
                "poster_url": r["poster_url"], "screenings": [],
            }
        movie["screenings"].append({k: r[k] for k in ("id", "starts_at", "ends_at", "prices", "auditorium_id",
                                                        "auditorium_name")})
    return {"cinema": cinema, "movies": list(movies.values())}
