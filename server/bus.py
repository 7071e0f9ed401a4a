"""The worker's event bus: ONE sharded pub/sub subscription per Redis shard for every feature.

Rooms, the staff feed and the revocations all listen here (docs/architecture.md, invariant 4).
Channels are sharded (SSUBSCRIBE / SPUBLISH, Redis >= 7.0): a screening's channel carries the
screening's hash tag, so on Redis Cluster its events stay on the shard that runs its scripts.

Broadcaster-style reference counting: the first listener of a channel subscribes (and waits for
Redis's confirmation, so whatever it reads next is older than every event it will be told of);
the last one to leave unsubscribes. Each shard has one connection and one reader task. When a
connection is lost, or Redis takes a channel away (a slot moved), the bus reconnects with backoff,
resubscribes every channel it still wants, and only then tells their listeners `on_gap`: events
may have been missed, re-read what matters.

Where the shards are is a `Shards`: `OneRedis` below, or `ClusterShards` (server/bus_cluster.py)
with one connection per cluster primary that owns a subscribed channel's slot.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisClusterException, RedisError

from server import metrics

log = logging.getLogger(__name__)
# What a shard's trouble raises: a lost or refused connection, or (Cluster) a slot with no owner yet.
TROUBLE = (RedisError, RedisClusterException, OSError, asyncio.TimeoutError)
CONFIRM_SECONDS = 5.0  # how long a subscription may wait for Redis's confirmation
RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0)  # backoff between reconnection attempts (the last repeats)
# A reader wakes at least this often, so redis-py's health check (a PING every
# health_check_interval) runs on a quiet connection too.
READ_SECONDS = 1.0


class Listener(Protocol):
    """What listens on a channel (a hub): told each event, and of a gap after a lost subscription."""

    def on_event(self, channel: bytes, data: bytes) -> None:
        """One message on a channel this listener subscribed to (never awaits)."""

    def on_gap(self, channel: bytes) -> None:
        """The subscription was lost and is live again: events of `channel` may have been missed."""


class Shards(Protocol):
    """Where channels live: one Redis server, or a cluster's primaries."""

    async def shard_of(self, channel: bytes) -> str:
        """The name of the shard (node) that serves a channel now."""

    def pubsub(self, shard: str) -> PubSub:
        """A new PubSub on its own connection to that shard."""

    async def refresh(self) -> None:
        """Re-learn where channels live (after a lost connection or a moved slot)."""

    async def publish(self, channel: bytes, data: bytes) -> None:
        """SPUBLISH on the channel's shard."""


class OneRedis:
    """A single Redis server: every channel on one shard, one connection."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def shard_of(self, channel: bytes) -> str:
        """Always the one server."""
        return "redis"

    def pubsub(self, shard: str) -> PubSub:
        """A PubSub holding one connection of the client's pool."""
        return self.redis.pubsub()

    async def refresh(self) -> None:
        """Nothing moves on one server."""

    async def publish(self, channel: bytes, data: bytes) -> None:
        """SPUBLISH."""
        await self.redis.spublish(channel, data)


class Link:
    """One shard's pub/sub connection: its channels, their confirmations and its reader task."""

    def __init__(self, bus: EventBus, shard: str) -> None:
        self.bus, self.shard = bus, shard
        self.pubsub = bus.shards.pubsub(shard)
        self.channels: set[bytes] = set()  # sent SSUBSCRIBE and not SUNSUBSCRIBE on this connection
        self.confirmed: dict[bytes, asyncio.Future[None]] = {}
        self.leaving: dict[bytes, int] = {}  # SUNSUBSCRIBEs sent whose confirmation has not come yet
        self.lock = asyncio.Lock()  # one subscription change or reconnection at a time
        self.reader: asyncio.Task[None] | None = None

    async def subscribe(self, channel: bytes) -> None:
        """SSUBSCRIBE and wait for Redis to confirm (call under the lock)."""
        waiting = asyncio.get_running_loop().create_future()
        self.confirmed[channel] = waiting
        self.channels.add(channel)
        try:
            await self.pubsub.ssubscribe(channel)
            self._read()
            await asyncio.wait_for(asyncio.shield(waiting), CONFIRM_SECONDS)
        except BaseException:
            self.channels.discard(channel)
            raise
        finally:
            if self.confirmed.get(channel) is waiting:
                del self.confirmed[channel]

    async def unsubscribe(self, channel: bytes) -> None:
        """SUNSUBSCRIBE (call under the lock); its confirmation needs no wait."""
        self.channels.discard(channel)
        self.leaving[channel] = self.leaving.get(channel, 0) + 1
        await self.pubsub.sunsubscribe(channel)

    def _read(self) -> None:
        if self.reader is None or self.reader.done():
            self.reader = asyncio.create_task(self._listen(), name=f"bus reader {self.shard}")

    async def _listen(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(timeout=READ_SECONDS)
            except TROUBLE as exc:
                log.warning("bus: connection to %s lost: %r; resubscribing", self.shard, exc)
                metrics.BUS_RECONNECTS.inc()
                for waiting in self.confirmed.values():  # no confirmation comes on a dead connection
                    if not waiting.done():
                        waiting.set_exception(ConnectionError(f"bus connection to {self.shard} lost"))
                self.bus.lost(self)
                return
            if message is not None:
                try:
                    self._handle(message)
                except Exception:  # one odd message must not stop every feature's events
                    log.exception("bus: cannot handle %r", message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], message["channel"]
        if kind == "smessage":
            self.bus.deliver(channel, message["data"])
        elif kind == "ssubscribe":
            waiting = self.confirmed.get(channel)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
        elif kind == "sunsubscribe":
            asked = self.leaving.get(channel, 0)
            if asked:
                self.leaving[channel] = asked - 1
                if asked == 1:
                    del self.leaving[channel]
                return
            if channel not in self.channels:
                return
            # Not asked for: Redis took the channel away (its slot moved to another shard).
            log.info("bus: %s dropped %r; moving it", self.shard, channel)
            self.channels.discard(channel)
            self.bus.moved(channel)

    async def close(self) -> None:
        """Stop reading and drop the connection."""
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        try:
            await self.pubsub.aclose()
        except (RedisError, OSError):
            pass


class EventBus:
    """This worker's subscriptions, counted per channel, over one connection per shard."""

    def __init__(self, shards: Shards) -> None:
        self.shards = shards
        self._listeners: dict[bytes, set[Listener]] = {}
        self._ready: dict[bytes, asyncio.Future[None]] = {}  # a wanted channel's confirmation
        self._links: dict[str, Link] = {}
        self._route: dict[bytes, Link] = {}  # the link a channel is subscribed on
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # --- listeners -----------------------------------------------------------------------

    async def subscribe(self, channel: bytes, listener: Listener) -> None:
        """Listen on a channel; returns once Redis confirmed the subscription (raises if it cannot)."""
        await asyncio.wait_for(asyncio.shield(self.add(channel, listener)), CONFIRM_SECONDS * 2)

    def add(self, channel: bytes, listener: Listener) -> asyncio.Future[None]:
        """Listen on a channel without waiting; the future resolves when the subscription is live."""
        self._listeners.setdefault(channel, set()).add(listener)
        ready = self._ready.get(channel)
        if ready is None or (ready.done() and (ready.cancelled() or ready.exception() is not None)):
            ready = self._ready[channel] = asyncio.get_running_loop().create_future()
            ready.add_done_callback(_consume)
            self._spawn(self._apply(channel))
        return ready

    def remove(self, channel: bytes, listener: Listener) -> None:
        """Stop listening; the last listener of a channel unsubscribes it (in the background)."""
        found = self._listeners.get(channel)
        if found is None or listener not in found:
            return
        found.discard(listener)
        if not found:
            del self._listeners[channel]
            ready = self._ready.pop(channel, None)
            if ready is not None and not ready.done():
                ready.cancel()
            self._spawn(self._apply(channel))

    def channels(self) -> int:
        """Channels this worker listens on (diagnostics, metrics)."""
        return len(self._listeners)

    def addresses(self) -> list[str]:
        """The local host:port of each live bus connection (diagnostics; tests CLIENT KILL them)."""
        found = []
        for link in self._links.values():
            writer = getattr(link.pubsub.connection, "_writer", None)
            if writer is not None:
                host, port = writer.get_extra_info("sockname")[:2]
                found.append(f"{host}:{port}")
        return found

    async def publish(self, channel: bytes, data: bytes) -> None:
        """SPUBLISH an event to every worker's listeners of the channel."""
        await self.shards.publish(channel, data)

    # --- subscriptions -------------------------------------------------------------------

    def _link(self, shard: str) -> Link:
        link = self._links.get(shard)
        if link is None:
            link = self._links[shard] = Link(self, shard)
        return link

    async def _apply(self, channel: bytes) -> None:
        """Bring the channel's subscription in line with whether anyone listens."""
        if self._closed:
            return None
        try:
            link = self._route.get(channel) or self._link(await self.shards.shard_of(channel))
        except TROUBLE as exc:  # Cluster: the channel's slot has no primary right now
            return self._settle(channel, exc)
        async with link.lock:
            if self._route.get(channel, link) is not link:
                return self._spawn(self._apply(channel))  # moved meanwhile: apply on its new link
            wanted = channel in self._listeners and not self._closed
            try:
                if wanted and channel not in link.channels:
                    self._route[channel] = link
                    await link.subscribe(channel)
                elif not wanted and channel in link.channels:
                    self._route.pop(channel, None)
                    await link.unsubscribe(channel)
            except TROUBLE as exc:
                if wanted:
                    self._route.pop(channel, None)
                    self._settle(channel, exc)
                    return None  # a later add() retries; a lost connection resubscribes the rest
                log.warning("bus: cannot unsubscribe %r: %r", channel, exc)
                return None
        if wanted:
            self._settle(channel, None)
        metrics.BUS_CHANNELS.set(len(self._listeners))
        return None

    def _settle(self, channel: bytes, error: BaseException | None) -> None:
        ready = self._ready.get(channel)
        if ready is None or ready.done():
            return
        if error is None:
            ready.set_result(None)
        else:
            ready.set_exception(ConnectionError(f"cannot subscribe {channel!r}: {error!r}"))

    # --- losses --------------------------------------------------------------------------

    def lost(self, link: Link) -> None:
        """A link's connection failed: reconnect, resubscribe its channels, then tell their listeners."""
        self._spawn(self._recover(link))

    def moved(self, channel: bytes) -> None:
        """Redis dropped one channel (a slot moved): subscribe it where it lives now."""
        self._route.pop(channel, None)
        self._spawn(self._resubscribe([channel]))

    async def _recover(self, link: Link) -> None:
        async with link.lock:
            channels = sorted(link.channels)
            for channel in channels:
                if self._route.get(channel) is link:
                    del self._route[channel]
            if self._links.get(link.shard) is link:
                del self._links[link.shard]
        await link.close()
        await self._resubscribe(channels)

    async def _resubscribe(self, channels: list[bytes]) -> None:
        """Subscribe the still-wanted channels afresh (retrying with backoff), then report the gap."""
        attempt = 0
        while not self._closed:
            todo = [c for c in channels if c in self._listeners and c not in self._route]
            try:
                await self.shards.refresh()
                for channel in todo:
                    link = self._link(await self.shards.shard_of(channel))
                    async with link.lock:
                        if channel in self._listeners and channel not in self._route:
                            self._route[channel] = link
                            try:
                                await link.subscribe(channel)
                            except BaseException:
                                self._route.pop(channel, None)
                                raise
                break
            except TROUBLE as exc:
                log.warning("bus: resubscribing failed: %r; retrying", exc)
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
        for channel in channels:
            self._settle(channel, None)
            for listener in list(self._listeners.get(channel, ())):
                try:
                    listener.on_gap(channel)
                except Exception:
                    log.exception("bus: a listener failed on a gap of %r", channel)

    def deliver(self, channel: bytes, data: bytes) -> None:
        """Hand one message to the channel's listeners."""
        for listener in list(self._listeners.get(channel, ())):
            try:
                listener.on_event(channel, data)
            except Exception:  # one listener's bug must not starve the others
                log.exception("bus: a listener failed on %r", channel)

    # --- lifecycle -----------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every reader and drop the connections."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for link in list(self._links.values()):
            await link.close()
        self._links.clear()


def _consume(future: asyncio.Future[None]) -> None:
    # A failed subscription nobody awaited any more must not log "exception never retrieved".
    if not future.cancelled():
        future.exception()
