"""The public catalog cache: JSON bodies in Redis, invalidated in O(1) by a generation counter.

Every cache key contains the current generation; an admin write bumps the generation, so all
older entries become unreachable at once (they expire by TTL). Redis trouble never fails a
read: the cache is skipped and the database answers.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from typing import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server import keys
from server.redis_store import KeySpace

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
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


def request_name(request: web.Request) -> str:
    """The cache name of a request: its path and its validated query, in a canonical order."""
    query = request.get(keys.QUERY) or {}
    canonical = urlencode(sorted((k, ",".join(map(str, v)) if isinstance(v, list) else v)
                                 for k, v in query.items()))
    return f"{request.path}?{canonical}"


def cached(handler: Handler) -> Handler:
    """Serve a public GET from the catalog cache; store its 200 responses (place under @endpoint)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        cache: CatalogCache = request.app[keys.CACHE]
        body, key = await cache.lookup(request_name(request))
        if body is not None:
            return web.Response(body=body, content_type="application/json", headers={"X-Cache": "hit"})
        response = await handler(request)
        if key is not None and response.status == 200 and isinstance(response, web.Response) \
                and isinstance(response.body, bytes):
            await cache.store(key, response.body)
            response.headers["X-Cache"] = "miss"
        return response

    return wrapper


async def cache_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the catalog cache over the app's Redis client (after redis_context)."""
    settings = app[keys.SETTINGS]
    app[keys.CACHE] = CatalogCache(app[keys.REDIS], KeySpace(settings.redis.key_prefix),
                                   settings.cache.catalog_seconds)
    yield
