"""Catalog writes, and the workflows that carry them into live seats and the checkout.

An admin write commits in one audited transaction, then drops the public catalog cache and says
so on the event bus's catalog channel (staff dashboards re-list: a screening may be new or moved).
Writes that change what Redis holds about a screening reload it there (open seat maps
resync); cancelling a screening also refunds its orders. Handlers call these; they never
chain the steps themselves.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Mapping, TypeVar

import asyncpg
from redis.exceptions import RedisError

from server.bus import EventBus
from server.cache import CatalogCache
from server.checkout.orders import refund_screening
from server.checkout.state import Checkout
from server.domain.catalog import auditoriums, screenings
from server.live.dashboard import catalog_channel
from server.live.holds import HoldStore
from server.queries import Queries

log = logging.getLogger(__name__)
T = TypeVar("T")


class CatalogAdmin:
    """Admin writes to the catalog and what must follow each one."""

    def __init__(self, pool: asyncpg.Pool, sql: Queries, cache: CatalogCache, holds: HoldStore,
                 checkout: Checkout, bus: EventBus) -> None:
        self.pool, self.sql, self.cache, self.holds, self.checkout = pool, sql, cache, holds, checkout
        self.bus, self.channel = bus, catalog_channel(cache.space)

    async def write(self, action: Callable[..., Awaitable[T]], *args: Any, actor_id: int, ip: str | None,
                    **kwargs: Any) -> T:
        """Run a domain write (which records its audit entry) in one transaction, then drop the catalog cache."""
        async with self.pool.acquire() as conn, conn.transaction():
            result = await action(conn, self.sql, *args, actor_id=actor_id, ip=ip, **kwargs)
        # Only after the commit: a reader that refills the cache in between reads the new data.
        await self.cache.invalidate()
        try:
            await self.bus.publish(self.channel, b"changed")
        except (RedisError, OSError) as exc:  # the write stands; dashboards see it on their next list
            log.warning("catalog: cannot announce a change: %r", exc)
        return result

    async def update_screening(self, screening_id: int, changes: Mapping[str, Any], *, actor_id: int,
                               ip: str | None) -> dict[str, Any]:
        """Change a screening; prices, times and the orphan rule live in Redis too, so reload them there."""
        updated = await self.write(screenings.update_screening, screening_id, changes, actor_id=actor_id, ip=ip)
        await self.holds.refresh(screening_id)
        return updated

    async def replace_seats(self, auditorium_id: int, body: Any, *, actor_id: int,
                            ip: str | None) -> dict[str, Any]:
        """Replace a seat map; upcoming screenings warm in Redis get the new layout."""
        seat_map = await self.write(auditoriums.replace_seats, auditorium_id, body, actor_id=actor_id, ip=ip)
        await self.holds.refresh_auditorium(auditorium_id)
        return seat_map

    async def cancel_screening(self, screening_id: int, *, actor_id: int, ip: str | None) -> dict[str, Any]:
        """Cancel a screening: the catalog first, then Redis, then the money back for every order."""
        await self.write(screenings.cancel_screening, screening_id, actor_id=actor_id, ip=ip)
        # Redis learns the status first, so no new hold is granted while the refunds run.
        await self.holds.refresh(screening_id)
        # After the commit: every paid order is refunded (seats freed live), open payments closed.
        await refund_screening(self.checkout, screening_id, actor_id)
        return await screenings.get_screening(self.pool, self.sql, screening_id)
