"""Is any server too busy to take more shoppers? Each worker's loop lag, shared through Redis.

Every worker times a short sleep again and again: how late it wakes is how long anything that
arrives now (a hold, a seat event) waits before this worker even reads it. The median over the
last second is its typical lag: a garbage collection or one slow tick moves one sample, a loop
that cannot keep up moves them all. Each worker writes its figure to one Redis hash a few times
a second and reads everyone's; while any fresh figure is above waiting_room.busy_lag_ms, the
admitter slows every line to a tenth of its rate (lua/line.lua), so a rush of arrivals at the
door does not also push shoppers into a seat map that cannot serve them (docs/waiting-room.md).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
from collections import deque

from redis.asyncio import Redis

from server.clock import Clock
from server.errors import STORE_OUTAGES
from server.metrics import EVENT_LOOP_LAG

log = logging.getLogger(__name__)
SAMPLE_SECONDS = 0.02  # the timer whose lateness is the lag
WINDOW_SECONDS = 1.0  # the typical lag is the median of this long's samples
REPORT_SECONDS = 0.25  # how often a worker writes its figure and reads everyone's
STALE_MS = 5_000  # a figure older than this is from a worker that stopped: ignored
FORGET_MS = 60_000  # ... and removed after this


class LoopLag:
    """The lateness of this worker's timers over the last WINDOW_SECONDS."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque()  # (loop time, seconds late)

    def add(self, now: float, late: float) -> None:
        """One sample taken at loop time `now`."""
        self._samples.append((now, late))
        while self._samples[0][0] < now - WINDOW_SECONDS:
            self._samples.popleft()

    def typical(self) -> float:
        """The median lateness in seconds (0 before any sample)."""
        return statistics.median(late for _, late in self._samples) if self._samples else 0.0

    async def run(self) -> None:
        """Sample for ever."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(SAMPLE_SECONDS)
            now = loop.time()
            self.add(now, max(now - asked - SAMPLE_SECONDS, 0.0))


class BusyServers:
    """This worker's lag, reported; everyone's, read: busy() while any worker runs over the limit."""

    def __init__(self, redis: Redis, key: str, clock: Clock, limit_ms: int) -> None:
        self.redis, self.key, self.clock, self.limit_ms = redis, key, clock, limit_ms
        self.lag = LoopLag()
        self.worker = secrets.token_hex(8)
        self._busy = False
        self._tasks: list[asyncio.Task[None]] = []

    def busy(self) -> bool:
        """True while some worker's typical lag is over the limit (as of the last report)."""
        return self._busy

    async def start(self) -> None:
        """Start sampling and reporting."""
        self._tasks = [asyncio.create_task(self.lag.run(), name="loop lag"),
                       asyncio.create_task(self._reports(), name="loop lag reports")]

    async def close(self) -> None:
        """Stop, and take this worker's figure out (a stopped worker is busy with nothing)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.limit_ms:
            try:
                await self.redis.hdel(self.key, self.worker)
            except STORE_OUTAGES:
                pass  # the figure goes stale in STALE_MS anyway

    async def _reports(self) -> None:
        while True:
            await asyncio.sleep(REPORT_SECONDS)
            lag = self.lag.typical()
            EVENT_LOOP_LAG.set(lag)
            if not self.limit_ms:
                continue
            try:
                busy = await self.exchange(round(lag * 1000))
            except STORE_OUTAGES:
                busy = False  # the admitter cannot run without Redis either
            except Exception:  # noqa: BLE001 - a bug here must not end the reports for good
                log.exception("loop lag report failed")
                busy = False
            if busy != self._busy:
                log.log(logging.WARNING if busy else logging.INFO, "a server's event loop runs over %d ms late: "
                        "admissions %s", self.limit_ms, "slowed to a tenth" if busy else "back to their rate")
            self._busy = busy

    async def exchange(self, lag_ms: int) -> bool:
        """Write this worker's lag; whether any worker's fresh figure is over the limit."""
        now = self.clock.ms()
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.key, self.worker, f"{lag_ms} {now}")
        pipe.pexpire(self.key, FORGET_MS)
        pipe.hgetall(self.key)
        figures = (await pipe.execute())[-1]
        busy, gone = False, []
        for worker, value in figures.items():
            try:
                lag, stamp = (int(part) for part in value.split())
            except ValueError:
                lag, stamp = 0, 0  # not ours to read: forgotten below
            age = now - stamp
            if age > FORGET_MS:
                gone.append(worker)
            elif age <= STALE_MS and lag > self.limit_ms:
                busy = True
        if gone:
            await self.redis.hdel(self.key, *gone)
        return busy
