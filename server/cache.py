"""The public catalog cache: JSON bodies in Redis, invalidated in O(1) by a generation counter.

Every cache key contains the current generation; an admin write bumps the generation, so all
older entries become unreachable at once (they expire by TTL). Redis trouble never fails a
read: the cache is skipped and the database answers. The HTTP side (which requests are
cached, under what name) is server/api/caching.py.
"""
from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.keyspace import KeySpace

log = logging.getLogger(__name__)
_TROUBLE = (RedisError, OSError, asyncio.TimeoutError)


class CatalogCache:
    """Cached catalog responses under <prefix>catalog:<generation>:<request>."""

    def __init__(self, redis: Redis, space: KeySpace, ttl_seconds: int) -> None:
        self.redis = redis
        self.space = space
        self.ttl = ttl_seconds
        self.generation_key = space.key("catalog", "generation")

    async def lookup(self, name: str) -> tuple[bytes | None, str | None]:
        """(cached body or None, the key to store under); (None, None) when caching is off or Redis is down."""
        if self.ttl <= 0:
            return None, None
        try:
            generation = await self.redis.get(self.generation_key)
            key = self.space.key("catalog", int(generation or 0), name)
            return await self.redis.get(key), key
        except _TROUBLE:
            log.warning("catalog cache unavailable; reading from PostgreSQL", exc_info=True)
            return None, None

    async def store(self, key: str, body: bytes) -> None:
        """Keep a body under the key lookup() gave (so a write in between cannot be masked)."""
        try:
            await self.redis.set(key, body, ex=self.ttl)
        except _TROUBLE:
            log.warning("catalog cache unavailable; not storing", exc_info=True)

    async def invalidate(self) -> None:
        """Forget every cached catalog read (call after each committed admin write)."""
        try:
            await self.redis.incr(self.generation_key)
        except _TROUBLE:
            log.error("could not invalidate the catalog cache; entries live until their TTL", exc_info=True)
