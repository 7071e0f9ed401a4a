"""A screening's seat layout, built from PostgreSQL and encoded for the Lua scripts.

Each seat becomes one compact record in the `layout` hash,
`<segment>:<left>:<right>:<kind>:<blocked>:<companion_of>:<score>`, where left/right are
the neighbouring seat ids inside the segment (0 at a segment end) and score is the
distance to the auditorium's best spot in thousandths of a seat. A segment is a maximal
run of adjacent seats in one row; an aisle (a gap wider than 1.5 seats) splits a row.
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import asyncpg
import orjson

KIND_CODES = {"standard": "s", "vip": "v", "wheelchair": "w", "companion": "c"}
# Gaps wider than this many seat widths are aisles.
AISLE_GAP = 1.5
# Redis keeps a layout this long after the screening ends.
KEEP_AFTER_END = dt.timedelta(days=1)


@dataclass
class Layout:
    """Everything the scripts need about one screening, ready to write to Redis."""

    screening_id: int
    auditorium_id: int
    records: dict[int, str]
    segments: list[list[int]]
    blocked: list[int]
    capacity: int
    meta: dict[str, str] = field(default_factory=dict)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def seat_width(rows: Iterable[list[Mapping[str, Any]]]) -> float:
    """The usual distance between neighbouring seats (median of the positive gaps)."""
    gaps = [
        b["x"] - a["x"] for row in rows for a, b in zip(row, row[1:]) if b["x"] - a["x"] > 0
    ]
    return statistics.median(gaps) if gaps else 1.0


def split_segments(seats: list[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Rows split at aisles: runs of seats, front row first, each left to right."""
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for seat in seats:
        rows.setdefault(seat["row_label"], []).append(seat)
    ordered = sorted(rows.values(), key=lambda r: (min(s["y"] for s in r), r[0]["row_label"]))
    ordered = [sorted(r, key=lambda s: (s["x"], s["number"])) for r in ordered]
    limit = AISLE_GAP * seat_width(ordered)
    segments: list[list[Mapping[str, Any]]] = []
    for row in ordered:
        current = [row[0]]
        for prev, seat in zip(row, row[1:]):
            if seat["x"] - prev["x"] > limit:
                segments.append(current)
                current = []
            current.append(seat)
        segments.append(current)
    return segments


def best_spot(seats: list[Mapping[str, Any]], best_x: float | None, best_y: float | None) -> tuple[float, float]:
    """The auditorium's best spot: configured, else the centre of the width, 2/3 back from the screen."""
    xs = [s["x"] for s in seats]
    ys = [s["y"] for s in seats]
    bx = best_x if best_x is not None else (min(xs) + max(xs)) / 2
    by = best_y if best_y is not None else min(ys) + (max(ys) - min(ys)) * 2 / 3
    return bx, by


def build_layout(screening: Mapping[str, Any], seats: list[Mapping[str, Any]]) -> Layout:
    """Encode a screening row and its auditorium's seats as the Redis layout."""
    segments = split_segments(seats) if seats else []
    bx, by = best_spot(seats, screening["best_x"], screening["best_y"]) if seats else (0.0, 0.0)
    records: dict[int, str] = {}
    for index, segment in enumerate(segments, start=1):
        for pos, seat in enumerate(segment):
            left = segment[pos - 1]["id"] if pos > 0 else 0
            right = segment[pos + 1]["id"] if pos + 1 < len(segment) else 0
            score = round(math.hypot(seat["x"] - bx, seat["y"] - by) * 1000)
            records[seat["id"]] = ":".join(str(v) for v in (
                index, left, right, KIND_CODES[seat["kind"]], int(seat["blocked"]),
                seat["companion_of"] or 0, score,
            ))
    blocked = [s["id"] for s in seats if s["blocked"]]
    prices = screening["prices"]
    if isinstance(prices, str):  # a connection without the json codec
        prices = orjson.loads(prices)
    layout = Layout(
        screening_id=screening["id"], auditorium_id=screening["auditorium_id"], records=records,
        segments=[[s["id"] for s in seg] for seg in segments], blocked=blocked,
        capacity=len(seats) - len(blocked),
    )
    layout.meta = {
        "auditorium_id": str(screening["auditorium_id"]),
        "capacity": str(layout.capacity),
        "orphan_rule": "1" if screening["orphan_rule"] else "0",
        "status": screening["status"],
        "starts_at": str(_ms(screening["starts_at"])),
        "ends_at": str(_ms(screening["ends_at"])),
        "expire_at": str(_ms(screening["ends_at"] + KEEP_AFTER_END)),
        "prices": orjson.dumps(prices).decode(),
        "blocked": ",".join(str(b) for b in blocked),
    }
    return layout


async def load_layout(conn: asyncpg.Connection | asyncpg.Pool, queries: Any, screening_id: int) -> Layout | None:
    """Read a screening and its seats from PostgreSQL; None if there is no such screening."""
    screening = await conn.fetchrow(queries.screening_for_layout, screening_id)
    if screening is None:
        return None
    seats = [dict(r) for r in await conn.fetch(queries.auditorium_seats, screening["auditorium_id"])]
    return build_layout(screening, seats)


async def load_sold(conn: asyncpg.Connection | asyncpg.Pool, queries: Any, screening_id: int) -> list[int]:
    """Seat ids with a live ticket for the screening (PostgreSQL is the truth)."""
    return [r["seat_id"] for r in await conn.fetch(queries.sold_seats, screening_id)]
