"""The worker's event bus on a real Redis: counted subscriptions, one connection, recovery after a kill."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest
from redis.asyncio import Redis

from server.bus import EventBus, OneRedis
from server.keyspace import KeySpace

WAIT = 5.0  # seconds anything the bus promises may take on a busy machine


class Heard:
    """A listener that records what it hears and lets a test wait for it."""

    def __init__(self) -> None:
        self.events: list[tuple[bytes, bytes]] = []
        self.gaps: list[bytes] = []
        self.changed = asyncio.Condition()

    def on_event(self, channel: bytes, data: bytes) -> None:
        self.events.append((channel, data))
        asyncio.ensure_future(self._notify())

    def on_gap(self, channel: bytes) -> None:
        self.gaps.append(channel)
        asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def until(self, check: Any) -> None:
        """Wait (bounded) until check() holds; woken by every event and gap."""
        async with asyncio.timeout(WAIT):
            async with self.changed:
                await self.changed.wait_for(check)


@pytest.fixture
async def bus(redis: Redis) -> AsyncIterator[EventBus]:
    made = EventBus(OneRedis(redis))
    yield made
    await made.close()


def channels(settings: Any, *ids: int) -> list[bytes]:
    space = KeySpace(settings.redis.key_prefix)
    return [space.channel(i).encode() for i in ids]


async def subscribers(redis: Redis, channel: bytes) -> int:
    """How many connections Redis has subscribed to a sharded channel."""
    reply = await redis.execute_command("PUBSUB", "SHARDNUMSUB", channel)
    return int(reply[1])


async def until_subscribers(redis: Redis, channel: bytes, count: int) -> None:
    # The bus unsubscribes in the background; Redis is the only witness, so ask it (bounded).
    async with asyncio.timeout(WAIT):
        while await subscribers(redis, channel) != count:
            await asyncio.sleep(0.02)


async def test_first_listener_subscribes_and_last_one_unsubscribes(bus, redis, settings) -> None:
    [channel] = channels(settings, 1)
    one, two = Heard(), Heard()
    await bus.subscribe(channel, one)
    assert await subscribers(redis, channel) == 1  # confirmed before subscribe() returned
    await bus.subscribe(channel, two)
    assert await subscribers(redis, channel) == 1 and bus.channels() == 1  # counted, not subscribed twice
    await redis.spublish(channel, b"first")
    await one.until(lambda: one.events)
    await two.until(lambda: two.events)
    bus.remove(channel, one)
    await redis.spublish(channel, b"second")
    await two.until(lambda: len(two.events) == 2)
    assert await subscribers(redis, channel) == 1 and one.events == [(channel, b"first")]
    bus.remove(channel, two)
    await until_subscribers(redis, channel, 0)
    assert bus.channels() == 0
    # And back: a new first listener subscribes again.
    await bus.subscribe(channel, one)
    await redis.spublish(channel, b"third")
    await one.until(lambda: one.events[-1] == (channel, b"third"))


async def test_a_classic_publish_is_not_a_sharded_event(bus, redis, settings) -> None:
    # The scripts SPUBLISH; the bus listens to sharded channels only (what Redis Cluster shards).
    [channel] = channels(settings, 2)
    heard = Heard()
    await bus.subscribe(channel, heard)
    assert await redis.publish(channel, b"classic") == 0
    await redis.spublish(channel, b"sharded")
    await heard.until(lambda: heard.events)
    assert heard.events == [(channel, b"sharded")]


async def test_many_screenings_share_one_connection(bus, redis, settings) -> None:
    many = channels(settings, *range(100, 160))
    heard = Heard()
    await asyncio.gather(*(bus.subscribe(channel, heard) for channel in many))
    assert len(bus.addresses()) == 1
    for channel in many:
        await redis.spublish(channel, channel)
    await heard.until(lambda: len(heard.events) == len(many))
    assert sorted(heard.events) == sorted((channel, channel) for channel in many)


async def test_a_killed_connection_resubscribes_every_channel_and_reports_the_gap(bus, redis, settings) -> None:
    first, second = channels(settings, 3, 4)
    heard = Heard()
    await bus.subscribe(first, heard)
    await bus.subscribe(second, heard)
    [address] = bus.addresses()
    assert await redis.execute_command("CLIENT", "KILL", "ADDR", address)
    # Listeners hear of the gap only once both channels are subscribed again...
    await heard.until(lambda: sorted(heard.gaps) == [first, second])
    assert bus.addresses() != [address]
    assert await subscribers(redis, first) == 1 and await subscribers(redis, second) == 1
    # ...so an event published now is delivered.
    await redis.spublish(second, b"after")
    await heard.until(lambda: (second, b"after") in heard.events)


async def test_a_listener_that_fails_does_not_starve_the_others(bus, redis, settings) -> None:
    [channel] = channels(settings, 5)

    class Broken(Heard):
        def on_event(self, channel: bytes, data: bytes) -> None:
            raise RuntimeError("a bug in one feature")

    good = Heard()
    await bus.subscribe(channel, Broken())
    await bus.subscribe(channel, good)
    await redis.spublish(channel, b"one")
    await redis.spublish(channel, b"two")
    await good.until(lambda: len(good.events) == 2)
