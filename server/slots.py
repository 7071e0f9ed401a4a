"""Slots: at most N holders at once, first come first served, each release O(1).

asyncio.Semaphore does the same job, but its release wakes "the first waiter that is not done"
by walking its queue from the front. When a pipeline's replies come back, hundreds of holders
release in a row before any woken waiter has run and left the queue, so each release walks past
all those already woken: quadratic. In a rush of holds that was ~7 % of a worker's CPU (issue 13,
bench/RESULTS.md). Here a release takes the first waiter off the queue and hands it the slot.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Slots:
    """An async context manager: `async with slots:` runs with one of `size` slots taken."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("Slots need a size of at least 1")
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        """Slots nobody holds (0 while anyone waits)."""
        return self._free

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot (some may have given up and not yet left the queue)."""
        return len(self._waiters)

    async def __aenter__(self) -> None:
        if self._free > 0:  # then nobody waits: a released slot goes to a waiter, never back here
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot just as we were cancelled: pass it on
            # else: still queued (cancelled): the next release skips it
            raise

    async def __aexit__(self, *exc: Any) -> None:
        self._release()

    def _release(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # skipped: waiters cancelled while queued
                waiter.set_result(None)
                return
        self._free += 1
