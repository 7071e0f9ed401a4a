"""The reconciler: finds orders stuck between steps (a crash, a lost webhook) and finishes them.

Runs at start-up and every checkout.reconcile_interval_seconds. Each pass re-runs the same
idempotent step functions the live path uses, so running it twice, or alongside a live
confirmation, is harmless. `grace_seconds` (checkout.reconcile_grace_seconds) leaves in-flight
work to its own request; pending orders are judged by their hold's deadline alone.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.checkout.confirm import confirm_order
from server.checkout.orders import expire_order
from server.checkout.settle import settle_money, settle_seats
from server.checkout.state import Checkout
from server.metrics import RECONCILER_ACTIONS

log = logging.getLogger(__name__)
BATCH = 200
SOLD_CHECK_WINDOW = 86_400.0  # screenings with sales changes this recent get their sold cache checked
LOCK_NAME = "reconciler"


async def reconcile(co: Checkout, grace_seconds: float | None = None) -> dict[str, int]:
    """One pass over every kind of stuck order; returns how many of each were handled."""
    if grace_seconds is None:
        grace_seconds = co.settings.checkout.reconcile_grace_seconds
    done = {"confirmed": 0, "expired": 0, "settled": 0, "sold_rebuilt": 0}
    now = co.clock.now()
    for row in await co.pool.fetch(co.sql.orders_stuck_authorised, grace_seconds, BATCH, now):
        await _guard(confirm_order(co, row["id"]), "confirm", row["id"])
        done["confirmed"] += 1
    for row in await co.pool.fetch(co.sql.orders_pending_expired, now, BATCH):
        await _guard(expire_order(co, row["id"]), "expire", row["id"])
        done["expired"] += 1
    for row in await co.pool.fetch(co.sql.orders_unsettled, grace_seconds, BATCH, now):
        await _guard(settle_money(co, row["id"]), "settle money of", row["id"])
        await _guard(settle_seats(co, row["id"]), "settle seats of", row["id"])
        done["settled"] += 1
    for row in await co.pool.fetch(co.sql.screenings_recently_sold, SOLD_CHECK_WINDOW, BATCH, now):
        if await _guard(check_sold_cache(co, row["screening_id"]), "check sold cache of screening",
                        row["screening_id"]):
            done["sold_rebuilt"] += 1
    if any(done.values()):
        log.info("reconciled: %s", done)
        for action, count in done.items():
            RECONCILER_ACTIONS.labels(action).inc(count)
    return done


async def check_sold_cache(co: Checkout, screening_id: int) -> bool:
    """Rebuild Redis's sold seats from PostgreSQL when they disagree; True if it had to."""
    live = {r["seat_id"] for r in await co.pool.fetch(co.sql.screening_live_seats, screening_id)}
    cached = set((await co.holds.snapshot(screening_id, None))["sold"])
    if live == cached:
        return False
    log.warning("screening %s: sold cache differs from tickets (missing %s, extra %s); rebuilding",
                screening_id, sorted(live - cached)[:20], sorted(cached - live)[:20])
    await co.holds.rebuild_sold(screening_id)
    return True


async def _guard(step: Any, what: str, ident: int) -> Any:
    """Run one step; a failure is logged and left for the next pass, never stops the others."""
    try:
        return await step
    except Exception:
        log.exception("reconciler could not %s %s", what, ident)
        return None


async def try_reconcile(co: Checkout, interval_seconds: float) -> dict[str, int] | None:
    """A pass, unless another worker ran one within the interval (a Redis lease decides)."""
    lease = co.keyspace.key(LOCK_NAME, "lease")
    if not await co.redis.set(lease, b"1", nx=True, px=max(1, int(interval_seconds * 900))):
        return None
    return await reconcile(co)


async def run_reconciler(co: Checkout, interval_seconds: float) -> None:
    """For the app's life: one pass at start-up (finish what a crash left), then one per interval."""
    try:
        await reconcile(co)
    except Exception:
        log.exception("start-up reconciliation failed")
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await try_reconcile(co, interval_seconds)
        except Exception:  # a Redis or PostgreSQL blip: try again next interval
            log.exception("reconciliation failed")
