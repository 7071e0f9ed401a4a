"""Sockets that outlive their right: a user's open sockets learn of logout, role and password changes.

An access token is checked once, when a socket opens. So that a socket does not outlive the right
it was opened with, every change that ends it is published on one Redis channel (logout, a new
password, a new role); each worker's listener hands it to the sockets of that user it holds. A
socket also ends when its token expires on the app's clock (checked every second). What each kind
of socket does then is its own decision (server/ws/staff.py, server/ws/room.py; docs/security.md).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.clock import Clock
from server.keyspace import KeySpace
from server.redis_client import pubsub as open_pubsub

log = logging.getLogger(__name__)
LOGOUT, PASSWORD, ROLE = "logout", "password", "role"
RESUBSCRIBE_SECONDS = 1.0


class Watcher(Protocol):
    """A socket that holds a user's identity."""

    def revoked(self, reason: str, role: str | None) -> None:
        """The user logged out, changed password (role None) or got a new role."""

    def expires_at(self) -> float:
        """When its access token expires (unix seconds on the app's clock); 0 = never checked."""

    def expired(self) -> None:
        """Its access token expired."""


def channel(space: KeySpace) -> str:
    """The one revocation channel of a deployment."""
    return space.key("revocations")


async def publish(redis: Redis, space: KeySpace, user_id: int, reason: str, role: str | None = None) -> None:
    """Tell every worker that this user's sockets lost their right (after the change committed)."""
    try:
        await redis.publish(channel(space), orjson.dumps({"user_id": user_id, "reason": reason, "role": role}))
    except (RedisError, OSError, asyncio.TimeoutError):
        # The sockets still end when their token expires (at most auth.access_token_seconds).
        log.error("could not publish the revocation of user %s (%s)", user_id, reason, exc_info=True)


class Revocations:
    """This worker's sockets by user, told of revocations (one subscription) and token expiry."""

    def __init__(self, redis: Redis, space: KeySpace, clock: Clock) -> None:
        self.redis, self.space, self.channel, self.clock = redis, space, channel(space), clock
        self.watchers: dict[int, set[Watcher]] = {}
        self.ready = asyncio.Event()

    async def publish(self, user_id: int, reason: str, role: str | None = None) -> None:
        """Tell every worker (this one too) that this user's sockets lost their right."""
        await publish(self.redis, self.space, user_id, reason, role)

    def watch(self, user_id: int, watcher: Watcher) -> None:
        """Hand this socket revocations of `user_id` until unwatch()."""
        self.watchers.setdefault(user_id, set()).add(watcher)

    def unwatch(self, user_id: int, watcher: Watcher) -> None:
        """The socket closed."""
        found = self.watchers.get(user_id)
        if found is not None:
            found.discard(watcher)
            if not found:
                del self.watchers[user_id]

    def deliver(self, data: bytes) -> None:
        """One message from the channel: every socket of that user hears it."""
        try:
            event = orjson.loads(data)
            user_id, reason, role = int(event["user_id"]), str(event["reason"]), event.get("role")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed revocation: %r", data[:200])
            return
        for watcher in list(self.watchers.get(user_id, ())):
            watcher.revoked(reason, role)

    def sweep(self) -> None:
        """Close the sockets whose access token has expired by now (the app's clock)."""
        now = self.clock.time()
        for watchers in list(self.watchers.values()):
            for watcher in list(watchers):
                if 0 < watcher.expires_at() <= now:
                    watcher.expired()

    async def listen(self) -> None:
        """The subscription (resubscribing after Redis trouble); run as a task."""
        while True:
            pubsub = open_pubsub(self.redis)
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self.ready.set()
                    elif message["type"] == "message":
                        self.deliver(message["data"])
            except (RedisError, OSError) as exc:
                log.warning("revocation subscription lost, resubscribing: %r", exc)
                await asyncio.sleep(RESUBSCRIBE_SECONDS)
            finally:
                await pubsub.aclose()

    async def run_sweeps(self, every: float = 1.0) -> None:
        """Expiry checks every `every` seconds; run as a task."""
        while True:
            await asyncio.sleep(every)
            self.sweep()
