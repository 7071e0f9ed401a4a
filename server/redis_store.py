"""Redis: the client for the app's life, and the naming of every key and channel."""
from __future__ import annotations

from typing import AsyncIterator

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from server import keys
from server.config import Settings


def create_redis(settings: Settings) -> Redis:
    """A client with a bounded pool; replies are bytes (decode where needed).

    The pool blocks (up to 10 s) when every connection is busy instead of failing, so a rush
    of commands queues for a connection rather than erroring.
    """
    pool = BlockingConnectionPool.from_url(
        settings.redis.url, max_connections=settings.redis.max_connections, timeout=10,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


class KeySpace:
    """Names of keys and channels under the configured prefix.

    Every key of one screening carries the hash tag {s:<id>} so one Lua script touches one
    Redis Cluster slot.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def key(self, *parts: object) -> str:
        """A plain key: prefix + parts joined by ':'."""
        return self.prefix + ":".join(str(p) for p in parts)

    def screening(self, screening_id: int, name: str) -> str:
        """A key of one screening, in its hash-tag slot."""
        return f"{self.prefix}{{s:{screening_id}}}:{name}"

    def channel(self, screening_id: int) -> str:
        """The screening's event channel (same hash tag, ready for sharded pub/sub)."""
        return self.screening(screening_id, "events")


async def redis_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the Redis client for the app's life."""
    app[keys.REDIS] = create_redis(app[keys.SETTINGS])
    yield
    await app[keys.REDIS].aclose()
