"""The expiry sweeper: every few hundred ms, expire overdue holds of the screenings this worker cares about.

Expiry is data in Redis (a sorted set of deadlines), and every script expires lazily too, so
the sweeper only makes expiry *announced* promptly. Several workers sweeping the same
screening is harmless: the sweep script is atomic and expires each hold once.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from server import keys
from server.live.holds import HoldStore

log = logging.getLogger(__name__)
# Screenings swept at once; bounds the Redis connections the sweeper borrows.
SWEEP_CONCURRENCY = 16


async def sweep_once(store: HoldStore) -> int:
    """Sweep every watched or recently touched screening once; returns the seats set free."""
    targets = store.sweep_targets()
    freed = 0
    for start in range(0, len(targets), SWEEP_CONCURRENCY):
        batch = targets[start:start + SWEEP_CONCURRENCY]
        results = await asyncio.gather(*(store.sweep(sid) for sid in batch), return_exceptions=True)
        for sid, result in zip(batch, results):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                log.warning("sweeping screening %s failed: %r", sid, result)
            else:
                freed += len(result)
    return freed


async def run_sweeper(store: HoldStore, interval_ms: int) -> None:
    """Sweep forever; a Redis outage is logged and retried, never fatal."""
    while True:
        await asyncio.sleep(interval_ms / 1000)
        try:
            await sweep_once(store)
        except RedisError as exc:
            log.warning("expiry sweep failed: %r", exc)
            await asyncio.sleep(1.0)


async def holds_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the HoldStore (scripts loaded) and its sweeper task."""
    settings = app[keys.SETTINGS]
    store = HoldStore(app[keys.REDIS], app[keys.DB], settings, app[keys.JWT_SECRET], app[keys.QUERIES].live,
                      clock=app[keys.CLOCK])
    await store.load_scripts()
    app[keys.HOLDS] = store
    task = asyncio.create_task(run_sweeper(store, settings.holds.sweep_interval_ms), name="holds-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
