"""Sockets that outlive their right: a user's open sockets learn of logout, role and password changes.

An access token is checked once, when a socket opens. So that a socket does not outlive the right
it was opened with, every change that ends it is published on one Redis channel (logout, a new
password, a new role); each worker's event bus (server/bus.py) hands it to the sockets of that
user it holds. The channel is sharded like the screenings' (SPUBLISH/SSUBSCRIBE): one bus, one
kind of subscription, and on Redis Cluster the channel lives in one slot of its own (its rate is a
few messages per logout, no hot spot). A socket also ends when its token expires on the app's clock (checked every second). What each kind
of socket does then is its own decision (server/ws/staff.py, server/ws/room.py; docs/security.md).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import orjson
from redis.exceptions import RedisError

from server.bus import EventBus
from server.clock import Clock
from server.keyspace import KeySpace

log = logging.getLogger(__name__)
LOGOUT, PASSWORD, ROLE = "logout", "password", "role"


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


class Revocations:
    """This worker's sockets by user, told of revocations (one bus channel) and token expiry."""

    def __init__(self, bus: EventBus, space: KeySpace, clock: Clock) -> None:
        self.bus, self.channel, self.clock = bus, channel(space).encode(), clock
        self.watchers: dict[int, set[Watcher]] = {}
        self.ready = asyncio.Event()  # set once the subscription is confirmed

    async def start(self) -> None:
        """Subscribe the channel (returns once Redis confirmed it)."""
        await self.bus.subscribe(self.channel, self)
        self.ready.set()

    def stop(self) -> None:
        """Leave the channel."""
        self.bus.remove(self.channel, self)

    async def publish(self, user_id: int, reason: str, role: str | None = None) -> None:
        """Tell every worker (this one too) that this user's sockets lost their right (after the commit)."""
        try:
            await self.bus.publish(self.channel, orjson.dumps({"user_id": user_id, "reason": reason, "role": role}))
        except (RedisError, OSError, asyncio.TimeoutError):
            # The sockets still end when their token expires (at most auth.access_token_seconds).
            log.error("could not publish the revocation of user %s (%s)", user_id, reason, exc_info=True)

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

    def on_event(self, channel: bytes, data: bytes) -> None:
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

    def on_gap(self, channel: bytes) -> None:
        """Revocations may have been missed while the bus was reconnecting (docs/security.md).

        Nothing records them elsewhere, and closing every socket on each Redis blip would punish
        everyone for nothing: a socket whose revocation was lost still ends when its access token
        expires (the sweep below, at most auth.access_token_seconds after it was issued).
        """
        log.warning("revocations: the bus reconnected; revocations sent meanwhile end at token expiry")

    async def run_sweeps(self, every: float = 1.0) -> None:
        """Expiry checks every `every` seconds; run as a task."""
        while True:
            await asyncio.sleep(every)
            self.sweep()
