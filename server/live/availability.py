"""Availability for listings: how full many screenings are, in one pipelined Redis read.

A listing (a cinema's week, a film's screenings, the home page's times) may show a hundred
screenings; asking each one's Lua `view` would be a hundred round trips and would warm every
screening nobody opened. Instead one pipeline reads, per screening, the three numbers the
scripts keep anyway (`meta.capacity`, `SCARD sold`, `HLEN holds`, all under the screening's
hash tag): free = capacity - sold - held, exactly the scripts' own `free_count`.

A screening that is not warm in Redis (nobody opened or held there since its keys were made, or
Redis lost them) has no holds by definition; its figures come from PostgreSQL, the truth, in one
query for all such screenings: free = seats not blocked - live tickets. Nothing is warmed here.

Holds past their deadline count as held until a script or the sweeper expires them (within a
sweep interval for any screening someone watches); a listing is a hint, the seat map decides.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Sequence

import asyncpg
from redis.asyncio import Redis

from server.keyspace import KeySpace

# "Almost full" from this share of the seats left (and at least one seat left); 0 seats = houseful.
ALMOST_FULL_SHARE = 0.10


def level(free: int, capacity: int) -> str:
    """"houseful", "almost_full" or "available"."""
    if free <= 0:
        return "houseful"
    return "almost_full" if free <= max(1, int(capacity * ALMOST_FULL_SHARE)) else "available"


def figures(free: int, capacity: int) -> dict[str, Any]:
    """The `availability` object of a listed screening."""
    free = max(0, free)
    return {"free": free, "capacity": capacity, "level": level(free, capacity)}


async def availability(redis: Redis, space: KeySpace, db: asyncpg.Pool, sql: SimpleNamespace,
                       screening_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """{screening id: {free, capacity, level}} for each id (unknown ids are left out)."""
    ids = list(dict.fromkeys(screening_ids))
    if not ids:
        return {}
    pipe = redis.pipeline(transaction=False)
    for sid in ids:
        pipe.hget(space.screening(sid, "meta"), "capacity")
        pipe.scard(space.screening(sid, "sold"))
        pipe.hlen(space.screening(sid, "holds"))
    replies = await pipe.execute()
    out: dict[int, dict[str, Any]] = {}
    cold: list[int] = []
    for i, sid in enumerate(ids):
        capacity, sold_members, held = replies[3 * i: 3 * i + 3]
        if capacity is None or not sold_members:  # `sold` always holds "-" once loaded
            cold.append(sid)
            continue
        sold = sold_members - 1
        out[sid] = figures(int(capacity) - sold - int(held), int(capacity))
    if cold:
        for row in await db.fetch(sql.listing_counts, cold):
            out[row["id"]] = figures(row["capacity"] - row["sold"], row["capacity"])
    return out
