"""Correctness after a run: the invariants of DESIGN.md checked against PostgreSQL and Redis directly.

1. no seat sold twice (live tickets per screening and seat);
2. PostgreSQL's live tickets == the Redis sold cache, per screening;
3. every paid order has its tickets; every order that did not end paid was voided or refunded
   and keeps no live ticket;
4. no hold outlived its TTL: after running the sweep script, no owner has a deadline in the past
   and every held seat belongs to an owner with a deadline (or is locked for a sale);
5. no order stuck: none pending long past its hold's deadline, none authorised or owing a money or
   seat step long after its last change;
6. the provider agrees (when its books are readable, i.e. the sandbox's tables): every paid order's
   payment captured once, no failed or expired order's payment authorised or captured, every
   cancelled or refunded order's payment refunded (or voided), no spare session holding money.
Each broken invariant is reported by name; the CLI exits non-zero when any is.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from redis.asyncio import Redis

from server.clock import SystemClock
from server.keyspace import KeySpace
from server.live.holds import KEY_NAMES
from server.live.scripts import Scripts
from server.queries import load_queries
from server.redis_client import client_for

SOLD_TWICE = "seat_sold_twice"
SOLD_CACHE = "sold_cache_mismatch"
PAID_TICKETS = "paid_order_without_tickets"
MONEY_RETURNED = "failed_order_not_refunded"
HOLD_TTL = "hold_outlived_ttl"
ORDER_STUCK = "order_stuck"
PROVIDER = "provider_disagrees"
NAMES = (SOLD_TWICE, SOLD_CACHE, PAID_TICKETS, MONEY_RETURNED, HOLD_TTL, ORDER_STUCK, PROVIDER)
SETTLE_SECONDS = 20.0  # how long to wait for in-flight orders before judging money and seats
# An order unfinished this long past its deadline or last change is stuck: longer than the default
# reconciler interval (30 s) plus its grace (60 s), so a healthy deployment never trips it.
STUCK_SECONDS = 120.0
# The checker runs beside the servers, not in one: it reads the system clock, as they do in
# production (hosts keep NTP time, docs/holds.md).
CLOCK = SystemClock()


@dataclass
class Violation:
    """One broken invariant and the evidence."""

    invariant: str
    screening_id: int | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the report."""
        return {"invariant": self.invariant, "screening_id": self.screening_id, "detail": self.detail}


def _ids(values: Any) -> set[int]:
    out = set()
    for v in values:
        text = v.decode() if isinstance(v, bytes) else str(v)
        if text.isdigit():
            out.add(int(text))
    return out


async def _wait_settled(conn: asyncpg.Connection, sql: Any, screenings: list[int], seconds: float) -> int:
    """Wait until no order of these screenings is still on its way; returns how many still are."""
    deadline = time.monotonic() + seconds
    while True:
        left = await conn.fetchval(sql.unsettled_orders, screenings)
        if not left or time.monotonic() >= deadline:
            return int(left or 0)
        await asyncio.sleep(0.25)


async def _sold_cache(conn: asyncpg.Connection, redis: Redis, space: KeySpace, sql: Any,
                      screenings: list[int]) -> list[Violation]:
    """Compare live tickets with each screening's Redis sold set (a missing set is a cold cache: fine)."""
    out: list[Violation] = []
    for attempt in range(3):  # a sale commits in PostgreSQL a moment before Redis marks it sold
        truth = {r["screening_id"]: set(r["seat_ids"]) for r in await conn.fetch(sql.live_seats, screenings)}
        out = []
        for sid in screenings:
            key = space.screening(sid, "sold")
            if not await redis.exists(key):
                continue
            cached = _ids(await redis.smembers(key))
            pg = truth.get(sid, set())
            if cached != pg:
                out.append(Violation(SOLD_CACHE, sid, f"only in PostgreSQL: {sorted(pg - cached)[:20]}; "
                                                      f"only in Redis: {sorted(cached - pg)[:20]}"))
        if not out:
            return out
        await asyncio.sleep(1.0)
    return out


async def _holds(redis: Redis, space: KeySpace, screenings: list[int]) -> list[Violation]:
    """Sweep, then look for overdue deadlines and held seats whose owner has no deadline."""
    scripts = Scripts(CLOCK)
    out: list[Violation] = []
    for sid in screenings:
        keys = [space.screening(sid, n) for n in KEY_NAMES] + [space.channel(sid)]
        if not await redis.exists(keys[0]):
            continue  # never warmed: nothing was ever held
        await scripts.call(redis, "sweep", keys, [])
        now_ms = CLOCK.ms()
        deadlines = dict(await redis.zrange(keys[KEY_NAMES.index("deadlines")], 0, -1, withscores=True))
        overdue = {o.decode(): int(d) for o, d in deadlines.items() if d <= now_ms}
        if overdue:
            out.append(Violation(HOLD_TTL, sid, f"owners past their deadline after a sweep: {sorted(overdue)[:10]}"))
        holds = await redis.hgetall(keys[KEY_NAMES.index("holds")])
        selling = _ids(await redis.hkeys(keys[KEY_NAMES.index("sales")]))
        orphaned = sorted(int(seat) for seat, owner in holds.items()
                          if owner not in deadlines and int(seat) not in selling)
        if orphaned:
            out.append(Violation(HOLD_TTL, sid, f"seats held with no deadline (never expire): {orphaned[:20]}"))
    return out


async def _orders(conn: asyncpg.Connection, sql: Any, screenings: list[int], stuck_seconds: float) -> list[Violation]:
    """Orders left unfinished, and orders whose money the provider sees otherwise."""
    found = [Violation(ORDER_STUCK, row["screening_id"],
                       f"order {row['order_key']} is {row['status']} (authorised={row['authorised']}, "
                       f"captured={row['captured']}, voided={row['voided']}, seats_pending={row['seats_pending']}, "
                       f"expires {row['expires_at'].isoformat()}, last change {row['updated_at'].isoformat()})")
             for row in await conn.fetch(sql.stuck_orders, screenings, stuck_seconds, CLOCK.now())]
    if await conn.fetchval(sql.sandbox_present):
        found += [Violation(PROVIDER, row["screening_id"],
                            f"order {row['order_key']} is {row['status']} but payment {row['payment_id']} is "
                            f"{row['payment_status']} (captures={row['captures']}, voids={row['voids']}, "
                            f"refunds={row['refunds']})")
                  for row in await conn.fetch(sql.provider_disagrees, screenings)]
    return found


async def check(database_url: str, redis_url: str, key_prefix: str, screenings: list[int],
                settle_seconds: float = SETTLE_SECONDS, stuck_seconds: float = STUCK_SECONDS) -> list[Violation]:
    """Every invariant over these screenings; an empty list means all hold."""
    sql = load_queries().loadtest  # the app's loader: this program runs without the app
    space = KeySpace(key_prefix)
    conn = await asyncpg.connect(database_url)
    redis = client_for(redis_url)
    try:
        await _wait_settled(conn, sql, screenings, settle_seconds)
        found: list[Violation] = []
        for row in await conn.fetch(sql.seats_sold_twice, screenings):
            found.append(Violation(SOLD_TWICE, row["screening_id"],
                                   f"seat {row['seat_id']} has {row['tickets']} live tickets "
                                   f"(orders {list(row['order_ids'])})"))
        found += await _sold_cache(conn, redis, space, sql, screenings)
        for row in await conn.fetch(sql.paid_without_tickets, screenings):
            found.append(Violation(PAID_TICKETS, row["screening_id"],
                                   f"order {row['order_key']}: {row['live_tickets']} live tickets for {row['seats']} seats"))
        for row in await conn.fetch(sql.failed_not_returned, screenings):
            found.append(Violation(MONEY_RETURNED, row["screening_id"],
                                   f"order {row['order_key']} is {row['status']} (authorised={row['authorised']}, "
                                   f"voided={row['voided']}, refunded={row['refunded']}, "
                                   f"live tickets={row['live_tickets']})"))
        found += await _holds(redis, space, screenings)
        found += await _orders(conn, sql, screenings, stuck_seconds)
        return found
    finally:
        await conn.close()
        await redis.aclose()


def describe(violations: list[Violation]) -> str:
    """Human lines: one per broken invariant, or the all-clear."""
    if not violations:
        return "invariants: all hold (" + ", ".join(NAMES) + ")"
    return "\n".join(f"BROKEN {v.invariant} (screening {v.screening_id}): {v.detail}" for v in violations)
