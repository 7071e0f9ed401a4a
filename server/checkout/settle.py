"""Bring an order's money and seats in line with its status. Every function is re-runnable.

The status in PostgreSQL is decided first; these steps then make the provider and Redis
agree with it. A crash between the two leaves a flag (paid but not captured, authorised
but not voided, seats_pending) that the reconciler finds and finishes by calling the same
functions again.
"""
from __future__ import annotations

import logging
from typing import Any

from server.checkout.payments import AlreadyCaptured, ProviderError, UnknownPayment
from server.checkout.state import MONEY_RETURNED, Checkout
from server.errors import DomainError
from server.live.holds import owner_of

log = logging.getLogger(__name__)


async def capture(co: Checkout, order_id: int) -> bool:
    """Capture a paid order's money (tickets are committed); True once it is captured."""
    order = await co.pool.fetchrow(co.sql.order_get, order_id)
    if order is None or order["status"] != "paid" or order["captured"]:
        return bool(order and order["captured"])
    try:
        # The provider makes a second capture of the same payment a no-op: duplicates are safe.
        await co.provider.capture(order["payment_ref"], order["amount"])
    except ProviderError:
        log.exception("order %s: capture failed; the reconciler will retry", order["order_key"])
        return False
    await co.pool.execute(co.sql.order_mark_captured, order_id, co.clock.now())
    return True


async def return_money(co: Checkout, order_id: int) -> None:
    """Void the authorisation, or refund if the money was already taken, for an order that failed or was undone."""
    order = await co.pool.fetchrow(co.sql.order_get, order_id)
    if (order is None or not order["authorised"] or order["status"] not in MONEY_RETURNED
            or order["voided"] or order["refunded"]):
        return
    ref = order["payment_ref"]
    if not order["captured"]:
        try:
            await co.provider.void(ref)
            await co.pool.execute(co.sql.order_mark_voided, order_id, co.clock.now())
            return
        except AlreadyCaptured:
            pass  # a capture raced us (e.g. a cancel during confirmation): refund instead
        except UnknownPayment:
            # The provider holds nothing for a payment it does not know: nothing left to release.
            log.warning("order %s: provider does not know payment %s; nothing to void", order["order_key"], ref)
            await co.pool.execute(co.sql.order_mark_voided, order_id)
            return
    try:
        await co.provider.refund(ref, order["amount"])
    except ProviderError:
        log.exception("order %s: refund failed; the reconciler will retry", order["order_key"])
        return
    await co.pool.execute(co.sql.order_mark_refunded, order_id, co.clock.now())


async def settle_money(co: Checkout, order_id: int) -> None:
    """Capture a paid order, or give back the money of one that failed or was undone."""
    await capture(co, order_id)
    # Also after a capture: a cancel may have landed meanwhile, and then the money goes back.
    await return_money(co, order_id)


async def settle_seats(co: Checkout, order_id: int) -> None:
    """Do the Redis step the order's status owes: mark sold, unlock, or free (each broadcasts)."""
    order = await co.pool.fetchrow(co.sql.order_get, order_id)
    if order is None or not order["seats_pending"]:
        return
    await _seat_step(co, order)
    if await co.pool.fetchval(co.sql.order_seats_settled, order_id, order["status"]) is None:
        now = await co.pool.fetchrow(co.sql.order_get, order_id)
        if now["status"] != order["status"]:
            # The order moved on (e.g. refunded) while we worked, so our step may have landed
            # after the new status's step: redo the new one, which is the truth now.
            await _seat_step(co, now)
            await co.pool.execute(co.sql.order_seats_settled, order_id, now["status"])


async def _seat_step(co: Checkout, order: Any) -> None:
    sid, seats, status, sale = order["screening_id"], list(order["seat_ids"]), order["status"], order["order_key"]
    owner = owner_of(order["user_id"])
    if status == "paid":
        try:
            await co.holds.mark_sold(sid, owner, seats)
        except DomainError:
            # The seats' layout is gone or changed: reload sold seats from PostgreSQL instead.
            await co.holds.rebuild_sold(sid)
    elif status in ("failed", "expired"):
        await co.holds.unlock(sid, owner, seats, sale)
    elif status in ("cancelled", "refunded"):
        # Undone before its own mark_sold ran, the hold locked for this sale must go as well.
        await co.holds.unlock(sid, owner, seats, sale)
        await co.holds.free_sold(sid, seats)
