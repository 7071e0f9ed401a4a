"""The public catalog cache: JSON bodies in Redis, invalidated in O(1) by a generation counter.

Every cache key contains the current generation; an admin write bumps the generation, so all
older entries become unreachable at once (they expire by TTL). Redis trouble never fails a
read: the cache is skipped and the database answers. The HTTP side (which requests are
cached, under what name) is server/api/caching.py.

The cache can never crowd out live seat state (Redis runs with `noeviction`): every store is
charged, atomically in one Lua script, to a byte counter of the current TTL window (on Redis's
own clock, the one that expires entries). An entry stored in window w is gone by the end of
window w+1, so what is alive at once was charged to at most two windows; each may spend half
of `max_bytes`. Over budget, the answer is served uncached.
"""
from __future__ import annotations

import asyncio
import logging
import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.keyspace import KeySpace

log = logging.getLogger(__name__)
_TROUBLE = (RedisError, OSError, asyncio.TimeoutError)
# What Redis spends per key besides its name and value (dict entry, object headers, expiry) ...
ENTRY_OVERHEAD = 96
# ... and its allocator's rounding: jemalloc's size classes waste at most a quarter of a block.
ALLOCATOR_FACTOR = 1.25

# KEYS: entry, counter base (the window number is appended). ARGV: body, ttl, window budget, cost.
_STORE = """
local now = redis.call('TIME')
local window = math.floor(tonumber(now[1]) / tonumber(ARGV[2]))
local counter = KEYS[2] .. window
local spent = redis.call('INCRBY', counter, ARGV[4])
if spent == tonumber(ARGV[4]) then redis.call('EXPIRE', counter, 2 * tonumber(ARGV[2]) + 1) end
if spent > tonumber(ARGV[3]) then
  redis.call('DECRBY', counter, ARGV[4])
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


class CatalogCache:
    """Cached catalog responses under <prefix>{catalog}:<generation>:<request>, within a byte budget."""

    def __init__(self, redis: Redis, space: KeySpace, ttl_seconds: int, max_bytes: int) -> None:
        self.redis = redis
        self.space = space
        self.ttl = ttl_seconds
        self.window_budget = max_bytes // 2
        # One hash tag: the entry and its window counter sit in one Redis Cluster slot for the script.
        self.generation_key = self.name("generation")
        self.spent_key = self.name("bytes:")
        self._store = redis.register_script(_STORE)

    def name(self, *parts: object) -> str:
        """A key of the catalog cache."""
        return self.space.key("{catalog}", *parts)

    async def lookup(self, name: str) -> tuple[bytes | None, str | None]:
        """(cached body or None, the key to store under); (None, None) when caching is off or Redis is down."""
        if self.ttl <= 0 or self.window_budget <= 0:
            return None, None
        try:
            generation = await self.redis.get(self.generation_key)
            key = self.name(int(generation or 0), name)
            return await self.redis.get(key), key
        except _TROUBLE:
            log.warning("catalog cache unavailable; reading from PostgreSQL", exc_info=True)
            return None, None

    async def store(self, key: str, body: bytes) -> bool:
        """Keep a body under the key lookup() gave (so a write in between cannot be masked); False if over budget."""
        cost = math.ceil((len(key) + len(body)) * ALLOCATOR_FACTOR) + ENTRY_OVERHEAD
        try:
            return bool(await self._store(keys=[key, self.spent_key],
                                          args=[body, self.ttl, self.window_budget, cost]))
        except _TROUBLE:
            log.warning("catalog cache unavailable; not storing", exc_info=True)
            return False

    async def invalidate(self) -> None:
        """Forget every cached catalog read (call after each committed admin write)."""
        try:
            await self.redis.incr(self.generation_key)
        except _TROUBLE:
            log.error("could not invalidate the catalog cache; entries live until their TTL", exc_info=True)
