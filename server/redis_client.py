"""The Redis client: one bounded, blocking connection pool per process."""
from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import DataError

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
    pool.connection_class = hiredis_packing(pool.connection_class)
    return Redis.from_pool(pool)


class _HiredisPacking:
    """Commands packed by hiredis's C packer: the same bytes as redis-py's pure-Python one.

    redis-py's synchronous client already packs with hiredis when it is installed; its asyncio
    connection does not, and packing was the largest client cost of a hold in a rush (issue 13:
    ~2/3 of redis-py's CPU per pipelined EVALSHA).
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        """Pack one command (a name with spaces, e.g. "CONFIG GET", is split as redis-py does)."""
        first = args[0]
        if isinstance(first, str):
            args = (*first.encode().split(), *args[1:])
        elif b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a
                                               for a in args))]
        except TypeError as exc:  # bool, None, a list...: redis-py's own error for bad input
            raise DataError(str(exc)) from exc


def hiredis_packing(connection_class: type) -> type:
    """connection_class (plain, TLS or Unix socket) packing commands with hiredis."""
    return type(f"Hiredis{connection_class.__name__}", (_HiredisPacking, connection_class), {})
