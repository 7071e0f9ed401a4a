"""Genres and movies: admin writes, search ("showing between", genre, title) and a movie's page."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

import asyncpg

from server.domain import audit
from server.domain.catalog.common import Db, InUse, db_errors, merged, row, time_range
from server.errors import NotFound
from server.queries import Queries

FIELDS = ("title", "director", "cast", "synopsis", "runtime_minutes", "certificate", "score",
          "release_date", "poster_url")
DEFAULTS: dict[str, Any] = {"director": "", "cast": [], "synopsis": "", "certificate": "", "score": None,
                            "release_date": None, "poster_url": None}



# Genres ---------------------------------------------------------------------

async def list_genres(db: Db, sql: Queries) -> dict[str, Any]:
    """Every genre with how many movies it has."""
    q = sql.catalog_movies
    return {"genres": [dict(r) for r in await db.fetch(q.genre_list)]}


async def get_genre(db: Db, sql: Queries, genre_id: int) -> dict[str, Any]:
    """One genre; NotFound when unknown."""
    q = sql.catalog_movies
    found = row(await db.fetchrow(q.genre_get, genre_id))
    if found is None:
        raise NotFound(f"no genre {genre_id}")
    return found


async def create_genre(conn: asyncpg.Connection, sql: Queries,
                       name: str, actor_id: int, ip: str | None = None) -> dict[str, Any]:
    """Add a genre (names are unique, ignoring case)."""
    q = sql.catalog_movies
    with db_errors("a genre of that name exists"):
        genre_id = await conn.fetchval(q.genre_insert, name)
    await audit.record(conn, actor_id, "genre.create", {"genre_id": genre_id, "name": name}, ip)
    return await get_genre(conn, sql, genre_id)


async def rename_genre(conn: asyncpg.Connection, sql: Queries, genre_id: int, name: str, actor_id: int,
                       ip: str | None = None) -> dict[str, Any]:
    """Rename a genre."""
    q = sql.catalog_movies
    with db_errors("a genre of that name exists"):
        if await conn.fetchval(q.genre_rename, genre_id, name) is None:
            raise NotFound(f"no genre {genre_id}")
    await audit.record(conn, actor_id, "genre.update", {"genre_id": genre_id, "name": name}, ip)
    return await get_genre(conn, sql, genre_id)


async def delete_genre(conn: asyncpg.Connection, sql: Queries,
                       genre_id: int, actor_id: int, ip: str | None = None) -> None:
    """Remove a genre; its movies simply lose the tag."""
    q = sql.catalog_movies
    if await conn.fetchval(q.genre_delete, genre_id) is None:
        raise NotFound(f"no genre {genre_id}")
    await audit.record(conn, actor_id, "genre.delete", {"genre_id": genre_id}, ip)


# Movies ---------------------------------------------------------------------

async def get_movie(db: Db, sql: Queries, movie_id: int) -> dict[str, Any]:
    """A movie with its genres; NotFound when unknown."""
    q = sql.catalog_movies
    found = row(await db.fetchrow(q.movie_get, movie_id))
    if found is None:
        raise NotFound(f"no movie {movie_id}")
    return found


async def movie_page(db: Db, sql: Queries, movie_id: int, now: dt.datetime) -> dict[str, Any]:
    """A movie with genres and its screenings from `now` on, grouped by cinema."""
    q = sql.catalog_movies
    movie = await get_movie(db, sql, movie_id)
    cinemas: dict[int, dict[str, Any]] = {}
    for r in await db.fetch(q.movie_upcoming, movie_id, now):
        cinema = cinemas.setdefault(r["cinema_id"], {
            "cinema": {"id": r["cinema_id"], "name": r["cinema_name"], "city": r["city"],
                       "time_zone": r["time_zone"]}, "screenings": []})
        cinema["screenings"].append({k: r[k] for k in ("id", "starts_at", "ends_at", "prices", "auditorium_id",
                                                        "auditorium_name")})
    movie["cinemas"] = list(cinemas.values())
    return movie


async def search_movies(db: Db, sql: Queries, query: Mapping[str, Any], default_zone: str) -> dict[str, Any]:
    """Movies by title words, genre (id or name) and "showing between" from/to (bare dates are days
    in catalog.default_time_zone), paged."""
    q = sql.catalog_movies
    start, end = time_range(query, default_zone)
    genre = query.get("genre")
    genre_id = int(genre) if genre and genre.isdigit() and len(genre) <= 18 else None
    genre_name = genre if genre and genre_id is None else None
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    rows = await db.fetch(q.movie_search, query.get("q") or None, genre_id, genre_name,
                          bool(start or end), start, end, limit, offset)
    total = rows[0]["total"] if rows else 0
    movies = [{k: v for k, v in r.items() if k != "total"} for r in rows]
    return {"movies": movies, "total": total, "limit": limit, "offset": offset}


async def create_movie(conn: asyncpg.Connection, sql: Queries, data: Mapping[str, Any], actor_id: int,
                       ip: str | None = None) -> dict[str, Any]:
    """Add a movie with its genres (unknown genre ids are a 404 naming genre_ids)."""
    q = sql.catalog_movies
    values = {**DEFAULTS, **{k: v for k, v in data.items() if k in FIELDS}}
    with db_errors():
        movie_id = await conn.fetchval(q.movie_insert, *_db_values(values))
    await _set_genres(conn, sql, movie_id, data.get("genre_ids", []))
    await audit.record(conn, actor_id, "movie.create", {"movie_id": movie_id, **dict(data)}, ip)
    return await get_movie(conn, sql, movie_id)


async def update_movie(conn: asyncpg.Connection, sql: Queries,
                       movie_id: int, changes: Mapping[str, Any], actor_id: int,
                       ip: str | None = None) -> dict[str, Any]:
    """Change some fields of a movie; genre_ids, when given, replaces its genres."""
    q = sql.catalog_movies
    current = row(await conn.fetchrow(q.movie_lock, movie_id))
    if current is None:
        raise NotFound(f"no movie {movie_id}")
    new = merged({**current, "release_date": _iso(current["release_date"])}, changes)
    with db_errors():
        await conn.execute(q.movie_update, movie_id, *_db_values(new))
    if "genre_ids" in changes:
        await conn.execute(q.movie_genres_clear, movie_id)
        await _set_genres(conn, sql, movie_id, changes["genre_ids"])
    await audit.record(conn, actor_id, "movie.update", {"movie_id": movie_id, **dict(changes)}, ip)
    return await get_movie(conn, sql, movie_id)


async def delete_movie(conn: asyncpg.Connection, sql: Queries,
                       movie_id: int, actor_id: int, ip: str | None = None) -> None:
    """Remove a movie that was never scheduled (409 in_use otherwise)."""
    q = sql.catalog_movies
    if await conn.fetchrow(q.movie_lock, movie_id) is None:
        raise NotFound(f"no movie {movie_id}")
    if await conn.fetchval(q.movie_has_screenings, movie_id):
        raise InUse("the movie has screenings; it cannot be deleted")
    await conn.execute(q.movie_delete, movie_id)
    await audit.record(conn, actor_id, "movie.delete", {"movie_id": movie_id}, ip)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _db_values(values: Mapping[str, Any]) -> list[Any]:
    out = [values[f] for f in FIELDS]
    out[FIELDS.index("runtime_minutes")] = int(values["runtime_minutes"])
    released = values["release_date"]
    out[FIELDS.index("release_date")] = dt.date.fromisoformat(released) if released else None
    return out


async def _set_genres(conn: asyncpg.Connection, sql: Queries, movie_id: int, genre_ids: Sequence[int]) -> None:
    q = sql.catalog_movies
    ids = sorted({int(g) for g in genre_ids})
    if not ids:
        return
    known = set(await conn.fetchval(q.genres_known, ids))
    unknown = [g for g in ids if g not in known]
    if unknown:
        raise NotFound(f"no genre {unknown[0]}", field="genre_ids")
    await conn.execute(q.movie_genres_add, movie_id, ids)
