"""Fixtures and helpers shared by the test_holds_* modules (no tests here)."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable, Callable

import orjson
import pytest
from redis.asyncio import Redis

from server.clock import ShiftedClock
from server.config import Settings
from server.db import create_pool
from server.keyspace import KeySpace
from server.live.holds import HoldStore
from server.queries import load_queries
from server.redis_client import create_redis
from server.bus_cluster import shards_for

MakeStore = Callable[..., Awaitable[HoldStore]]


@pytest.fixture
async def make_store(settings: Settings, clock: ShiftedClock) -> AsyncIterator[MakeStore]:
    """Build HoldStores (each like one worker) sharing the run's Redis and PostgreSQL."""
    pool = await create_pool(settings)
    queries = load_queries()
    clients: list[Redis] = []

    async def make(**overrides: dict[str, Any]) -> HoldStore:
        configured = settings.replace(**overrides) if overrides else settings
        client = create_redis(configured)
        clients.append(client)
        store = HoldStore(client, pool, configured, configured.auth.jwt_secret, queries.live, clock=clock)
        await store.load_scripts()
        return store

    yield make
    for client in clients:
        await client.aclose()
    await pool.close()


@pytest.fixture
async def store(make_store: MakeStore) -> HoldStore:
    """One HoldStore with the run's settings."""
    return await make_store()


async def dump(redis: Redis, settings: Settings, screening_id: int) -> dict[bytes, Any]:
    """Every key of one screening with its value and TTL-free content, to compare before/after."""
    space = KeySpace(settings.redis.key_prefix)
    pattern = space.screening(screening_id, "*").replace("{", "\\{").replace("}", "\\}")
    out: dict[bytes, Any] = {}
    async for key in redis.scan_iter(match=pattern):
        kind = (await redis.type(key)).decode()
        if kind == "hash":
            out[key] = await redis.hgetall(key)
        elif kind == "set":
            out[key] = sorted(await redis.smembers(key))
        elif kind == "zset":
            out[key] = await redis.zrange(key, 0, -1, withscores=True)
        else:
            out[key] = await redis.get(key)
    return out


class Listener:
    """A sharded pub/sub subscription to a screening's events; `next()` waits for one with a timeout."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self.shards = shards_for(redis)  # on a cluster: a connection to the primary that owns the channel
        self.channel = channel

    async def __aenter__(self) -> "Listener":
        self.pubsub = self.shards.pubsub(await self.shards.shard_of(self.channel.encode()))
        await self.pubsub.ssubscribe(self.channel)
        # Wait for Redis's confirmation: an event published after this returns is never missed.
        confirmed = await self.pubsub.get_message(timeout=5.0)
        assert confirmed is not None and confirmed["type"] == "ssubscribe", confirmed
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.pubsub.sunsubscribe(self.channel)
        await self.pubsub.aclose()

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next event on the channel (fails the test if none comes in time)."""
        async def read() -> dict[str, Any]:
            while True:
                msg = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
                if msg is not None:
                    return orjson.loads(msg["data"])

        return await asyncio.wait_for(read(), timeout)

    async def quiet(self, wait: float = 0.2) -> bool:
        """True when no event is pending (waits briefly; used only to assert absence)."""
        msg = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
        return msg is None


def listen(store: HoldStore, redis: Redis, screening_id: int) -> Listener:
    """Subscribe to a screening's event channel."""
    return Listener(redis, store.space.channel(screening_id))
