"""The waiting list of a houseful screening: join, leave, and the offers the handover makes.

PostgreSQL keeps the list (a promise to customers, invariant 8); Redis keeps a copy of the line
for lua/waitlist.lua, which hands seats that come free (a cancellation, a refund, a hold that
expires or is released) straight into the hold of the next in line, in the same script: those
seats are never free in between. The next in line gets up to the seats they asked for, held for
waitlist.claim_minutes; unbought, the hold expires and the seats go on to the next. Every server
tends the lines (`tend`): it sweeps their screenings (so a claim window's end is handed on even
when nobody watches the map), records each new offer in PostgreSQL with its message to the
customer (the outbox, one transaction) and rebuilds a line Redis lost.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson

from server.clock import Clock
from server.config import Settings
from server.domain import outbox
from server.errors import DomainError, InvalidInput, NotFound, error_class, is_store_outage
from server.live.errors import ScreeningClosed
from server.live.holds import HoldStore, owner_of

log = logging.getLogger(__name__)
NotHouseful = error_class("NotHouseful", 409, "not_houseful")


class Waitlist:
    """Join, leave and read a screening's waiting list; `tend` keeps lines and offers in step."""

    def __init__(self, pool: asyncpg.Pool, holds: HoldStore, sql: SimpleNamespace, outbox_sql: SimpleNamespace,
                 settings: Settings, clock: Clock) -> None:
        self.pool, self.holds, self.sql, self.outbox_sql = pool, holds, sql, outbox_sql
        self.settings, self.clock = settings, clock

    def _record(self, screening_id: int, entry_id: int, user_id: int, seats: int) -> str:
        owner = owner_of(user_id)
        claim_ms = self.settings.waitlist.claim_minutes * 60_000
        return f"{entry_id}|{owner}|{self.holds.owner_tag(screening_id, owner)}|{seats}|{claim_ms}"

    async def join(self, user_id: int, screening_id: int, seats: int) -> tuple[dict[str, Any], bool]:
        """Join a houseful screening's line for `seats` seats; (my status, joined now)."""
        most = self.settings.holds.max_seats_per_customer
        if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= most:
            raise InvalidInput(f"Ask for 1 to {most} seats.", field="seats")
        screening = await self.pool.fetchrow(self.sql.screening_state, screening_id)
        if screening is None:
            raise NotFound("No such screening.")
        if screening["status"] != "scheduled" or screening["starts_at"] <= self.clock.now():
            raise ScreeningClosed("This screening is no longer on sale.")
        if not (await self.holds.counts(screening_id))["houseful"]:
            raise NotHouseful("Seats are free right now: choose them on the seat map.")
        entry_id = await self.pool.fetchval(self.sql.entry_insert, screening_id, user_id, seats, self.clock.now())
        if entry_id is not None and not await self.holds.waitlist_join(
                screening_id, entry_id, self._record(screening_id, entry_id, user_id, seats)):
            await self.load_line(screening_id)
        return await self.status(screening_id, user_id), entry_id is not None

    async def leave(self, user_id: int, screening_id: int) -> None:
        """Leave the line (seats already handed over stay held until bought or the window ends)."""
        entry_id = await self.pool.fetchval(self.sql.entry_leave, screening_id, user_id, self.clock.now())
        if entry_id is None:
            raise NotFound("You are not on this screening's waiting list.")
        await self.holds.waitlist_leave(screening_id, entry_id)

    async def status(self, screening_id: int, user_id: int | None) -> dict[str, Any]:
        """How many are waiting, and the caller's place (or offer) if they have one."""
        # Offers the handover just made are recorded first, so the answer never lags the seat map.
        await self.record_offers(screening_id)
        waiting = await self.pool.fetchval(self.sql.waiting_count, screening_id)
        mine = None
        row = await self.pool.fetchrow(self.sql.entry_mine, screening_id, user_id) if user_id else None
        if row is not None and row["status"] == "waiting":
            position = await self.pool.fetchval(self.sql.entry_position, screening_id, row["id"])
            mine = {"status": "waiting", "seats": row["seats"], "position": position,
                    "joined_at": row["joined_at"].isoformat()}
        elif row is not None and row["status"] == "offered" and row["offer_expires_at"] > self.clock.now():
            mine = {"status": "offered", "seats": row["seats"], "offered_seats": list(row["offered_seats"]),
                    "offer_expires_at": row["offer_expires_at"].isoformat()}
        return {"waiting": waiting, "claim_minutes": self.settings.waitlist.claim_minutes, "me": mine}

    async def load_line(self, screening_id: int) -> None:
        """Build the Redis line from PostgreSQL when it is missing."""
        rows = await self.pool.fetch(self.sql.line, screening_id)
        await self.holds.waitlist_load(screening_id, [self._record(screening_id, r["id"], r["user_id"], r["seats"])
                                                      for r in rows])

    async def record_offers(self, screening_id: int) -> int:
        """Record the handover's new offers in PostgreSQL, each with its message; how many.

        Also rebuilds the line if Redis lost it.
        """
        offers, loaded = await self.holds.waitlist_offers(screening_id)
        if not loaded:
            await self.load_line(screening_id)  # Redis lost it (a restart): the line comes back
        for raw in offers:
            offer = orjson.loads(raw)
            now = self.clock.now()
            deadline = dt.datetime.fromtimestamp(offer["deadline"] / 1000, dt.timezone.utc)
            async with self.pool.acquire() as conn, conn.transaction():
                user_id = await conn.fetchval(self.sql.entry_offered, offer["entry"], offer["seats"], now, deadline)
                if user_id is not None:
                    await outbox.enqueue(conn, self.outbox_sql, kind=outbox.WAITLIST_OFFER, subject=str(offer["entry"]),
                                         user_id=user_id, now=now)
            if user_id is None:
                # The customer left the line just before their turn came: the seats go on to the next.
                try:
                    await self.holds.release(screening_id, offer["owner"], offer["seats"])
                except DomainError:
                    pass  # already bought, released or expired
            await self.holds.waitlist_offer_done(screening_id, raw)
        return len(offers)

    async def tend(self) -> None:
        """One round over every screening on sale with a line: expire claim windows, record offers, heal lines.

        Once a screening starts its line is left alone (nothing more can be sold or handed over).
        """
        for row in await self.pool.fetch(self.sql.screenings_waiting, self.clock.now()):
            sid = row["screening_id"]
            try:
                await self.holds.sweep(sid)
                await self.record_offers(sid)
            except DomainError as exc:
                log.warning("waiting list of screening %s: %s", sid, exc.message)


async def run_waitlist(waitlist: Waitlist, interval_ms: int) -> None:
    """Tend the waiting lists every interval until cancelled (each server does; every step is idempotent)."""
    while True:
        try:
            await waitlist.tend()
        except Exception as exc:
            if not is_store_outage(exc):
                log.exception("tending the waiting lists failed")
            # A store outage: the next round tries again (the log would repeat it every round).
        await asyncio.sleep(interval_ms / 1000)
