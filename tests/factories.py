"""Build catalog data straight in PostgreSQL for tests (no API involved)."""
from __future__ import annotations

import datetime as dt
import string
from typing import Any, Sequence

import asyncpg

DEFAULT_PRICES = {"standard": 1000, "vip": 1500, "wheelchair": 1000, "companion": 1000}


async def make_screening(
    pg: asyncpg.Connection,
    rows: int = 4,
    per_row: int = 10,
    *,
    kinds: dict[tuple[str, int], str] | None = None,
    blocked: Sequence[tuple[str, int]] = (),
    aisles_after: Sequence[int] = (),
    starts_in: dt.timedelta = dt.timedelta(days=1),
    prices: dict[str, int] | None = None,
    orphan_rule: bool = True,
    now: dt.datetime,
    time_zone: str = "Europe/London",
) -> dict[str, Any]:
    """A cinema (in `time_zone`), an auditorium of rows A.. x per_row seats, a movie and a screening
    starting `starts_in` after `now` (the test's clock).

    kinds maps (row, number) -> kind; a 'companion' seat is tied to the wheelchair seat beside it.
    aisles_after puts a gap after those seat numbers (x jumps by 2).
    Returns {screening_id, auditorium_id, movie_id, cinema_id, seats: {"A1": id, ...}}.
    """
    kinds = kinds or {}
    cinema_id = await pg.fetchval(
        "INSERT INTO cinema (name, city, address, latitude, longitude, time_zone)"
        " VALUES ($1, 'Testville', '1 Test St', 51.5, -0.1, $2) RETURNING id",
        f"Test Cinema {await pg.fetchval('SELECT count(*) FROM cinema') + 1}", time_zone,
    )
    auditorium_id = await pg.fetchval(
        "INSERT INTO auditorium (cinema_id, name) VALUES ($1, 'Screen 1') RETURNING id", cinema_id
    )
    seats: dict[str, int] = {}
    for r in range(rows):
        label = string.ascii_uppercase[r]
        x = 0.0
        for n in range(1, per_row + 1):
            kind = kinds.get((label, n), "standard")
            seats[f"{label}{n}"] = await pg.fetchval(
                "INSERT INTO seat (auditorium_id, row_label, number, x, y, kind, blocked)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                auditorium_id, label, n, x, float(r), kind, (label, n) in blocked,
            )
            x += 2.0 if n in aisles_after else 1.0
    for (label, n), kind in kinds.items():
        if kind == "companion":
            neighbour = next(
                (seats[f"{label}{m}"] for m in (n - 1, n + 1) if kinds.get((label, m)) == "wheelchair"), None
            )
            await pg.execute("UPDATE seat SET companion_of = $1 WHERE id = $2", neighbour, seats[f"{label}{n}"])
    movie_id = await pg.fetchval(
        "INSERT INTO movie (title, runtime_minutes) VALUES ('Test Movie', 120) RETURNING id"
    )
    start = now.replace(microsecond=0) + starts_in
    present = {kinds.get(k, "standard") for k in kinds} | {"standard"}
    price_map = prices or {k: v for k, v in DEFAULT_PRICES.items() if k in present}
    screening_id = await pg.fetchval(
        "INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices, orphan_rule)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id",
        auditorium_id, movie_id, start, start + dt.timedelta(minutes=140),
        __import__("orjson").dumps(price_map).decode(), orphan_rule,
    )
    return {"screening_id": screening_id, "auditorium_id": auditorium_id, "movie_id": movie_id,
            "cinema_id": cinema_id, "seats": seats}


async def more_screenings(pg: asyncpg.Connection, screening_id: int, count: int,
                          every: dt.timedelta = dt.timedelta(hours=3)) -> list[int]:
    """`count` more screenings like `screening_id` (its auditorium, film and prices), one every `every`
    after it; their ids, soonest first."""
    rows = await pg.fetch(
        "INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices, orphan_rule)"
        " SELECT auditorium_id, movie_id, starts_at + $2::interval * g, ends_at + $2::interval * g, prices, orphan_rule"
        " FROM screening, generate_series(1, $3) AS g WHERE id = $1 ORDER BY g RETURNING id",
        screening_id, every, count)
    return [r["id"] for r in rows]
