"""The Redis client: one bounded, blocking connection pool per process."""
from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

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
