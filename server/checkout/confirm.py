"""From authorised payment to tickets, exactly once (invariant 5).

The steps, in order, each safe to run again:
  record_authorisation  pending -> authorised (PostgreSQL, row lock)
  lock_seats            HoldStore.lock_for_sale: held by the buyer (or still free), and locked
                        for no other order -> locked for this order
  commit_tickets        one transaction: tickets inserted + order paid (the unique live
                        (screening, seat) index is the final guard)
  settle_money          capture
  settle_seats          HoldStore.mark_sold (broadcast)
Seats lost on the way -> fail_sale: order failed with the reason naming the seats, money voided,
and the seats held for this order released (never seats another order of the buyer is selling).
Duplicate webhooks and retries meet the row lock and the status check and change nothing.
"""
from __future__ import annotations

import logging

import asyncpg

from server.checkout import payments
from server.checkout.payments import PaymentEvent
from server.checkout.settle import settle_money, settle_seats
from server.checkout.state import Checkout, transition
from server.errors import DomainError, Unavailable
from server.live.errors import seats_of
from server.live.holds import owner_of

log = logging.getLogger(__name__)


class ScreeningGone(Exception):
    """No sale may complete any more: the screening was cancelled, or it started, while the buyer paid."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def handle_event(co: Checkout, event: PaymentEvent) -> str:
    """Apply a verified provider event; returns the order's status after it ("ignored" if unknown)."""
    order = await co.pool.fetchrow(co.sql.order_by_payment_ref, event.payment_ref)
    if order is None or order["order_key"] != event.reference:
        # Not ours (another environment sharing the account?): acknowledge so it is not retried.
        log.warning("webhook %s for unknown payment %s", event.event_id, event.payment_ref)
        return "ignored"
    if event.kind == payments.AUTHORISED:
        return await on_authorised(co, order["id"])
    return await on_declined(co, order["id"], event.reason or event.kind.split(".")[-1])


async def on_authorised(co: Checkout, order_id: int) -> str:
    """The buyer's money is reserved: confirm the order, or give the money back if it is too late."""
    status = await record_authorisation(co, order_id)
    if status == "authorised":
        return await confirm_order(co, order_id)
    # Already decided: a redelivered webhook finishes whatever an interrupted first delivery left
    # owed (capture, void or refund, the Redis step), so an outage heals on the provider's retry
    # without waiting for the reconciler. Authorised after the order ended (e.g. expired), the
    # money goes back: nobody may keep it. Both steps are no-ops when nothing is owed.
    await settle_money(co, order_id)
    await settle_seats(co, order_id)
    return status


async def record_authorisation(co: Checkout, order_id: int) -> str:
    """Step 1: remember that money is reserved, and move a pending order to authorised."""
    async with co.pool.acquire() as conn, conn.transaction():
        order = await conn.fetchrow(co.sql.order_lock, order_id)
        if not order["authorised"]:
            await conn.execute(co.sql.order_mark_authorised, order_id, co.clock.now())
        if order["status"] == "pending":
            order = await transition(co, conn, order, "authorised", reason="payment authorised")
        return order["status"]


async def on_declined(co: Checkout, order_id: int, reason: str) -> str:
    """The payment failed: the order fails with the provider's reason; the buyer keeps the hold."""
    async with co.pool.acquire() as conn, conn.transaction():
        order = await conn.fetchrow(co.sql.order_lock, order_id)
        if order["status"] == "pending":
            order = await transition(co, conn, order, "failed", reason=reason)
        return order["status"]


async def confirm_order(co: Checkout, order_id: int) -> str:
    """Steps 2 to 5 for an authorised order; returns its final status."""
    order = await co.pool.fetchrow(co.sql.order_get, order_id)
    if order["status"] != "authorised":
        return order["status"]
    try:
        await lock_seats(co, order_id)
    except Unavailable:
        raise  # Redis is busy loading: the webhook is retried, the order stays authorised
    except DomainError as exc:  # seat_taken mostly; also limit_exceeded, seat_blocked
        return await fail_sale(co, order_id, exc.code, seats_of(exc))
    try:
        if not await commit_tickets(co, order_id):
            return (await co.pool.fetchrow(co.sql.order_get, order_id))["status"]
    except asyncpg.UniqueViolationError:
        # Redis said free but PostgreSQL has a live ticket: PostgreSQL wins, Redis is rebuilt.
        return await fail_sale(co, order_id, "seat_taken", await _sold_elsewhere(co, order_id), rebuild=True)
    except ScreeningGone as gone:
        return await fail_sale(co, order_id, gone.reason)
    await settle_money(co, order_id)
    await settle_seats(co, order_id)
    return "paid"


async def lock_seats(co: Checkout, order_id: int) -> None:
    """Step 2: the seats pass from hold to locked for this order in one Lua step (SeatTaken if lost)."""
    order = await co.pool.fetchrow(co.sql.order_get, order_id)
    await co.holds.lock_for_sale(order["screening_id"], owner_of(order["user_id"]), list(order["seat_ids"]),
                                 order["order_key"])


async def _sold_elsewhere(co: Checkout, order_id: int) -> list[int]:
    """The order's seats that another order holds live tickets for."""
    return [r["seat_id"] for r in await co.pool.fetch(co.sql.order_seats_sold_elsewhere, order_id)]


async def commit_tickets(co: Checkout, order_id: int) -> bool:
    """Step 3: tickets and the paid status in one transaction; False if another call did it."""
    async with co.pool.acquire() as conn, conn.transaction():
        order = await conn.fetchrow(co.sql.order_lock, order_id)
        if order["status"] != "authorised":
            return False
        screening = await conn.fetchrow(co.sql.screening_for_order, order["screening_id"])
        if screening["status"] != "scheduled":
            raise ScreeningGone("screening_cancelled")
        if screening["starts_at"] <= co.clock.now():  # no tickets once the show has begun: the money goes back
            raise ScreeningGone("screening_closed")
        await conn.execute(co.sql.tickets_insert, order_id, order["screening_id"],
                           order["seat_ids"], order["prices"], co.clock.now())
        await transition(co, conn, order, "paid", reason="tickets issued", seats_pending=True)
    return True


async def fail_sale(co: Checkout, order_id: int, reason: str, seats: list[int] | None = None,
                    rebuild: bool = False) -> str:
    """The seats could not be sold: fail the order, void the money, release the seats."""
    order = await mark_failed(co, order_id, f"{reason}: seats {', '.join(map(str, seats))}" if seats else reason)
    await settle_money(co, order_id)
    await settle_seats(co, order_id)
    if rebuild:
        await co.holds.rebuild_sold(order["screening_id"])
    log.info("order %s: %s (%s)", order["order_key"], order["status"], order["failure_reason"])
    return order["status"]


async def mark_failed(co: Checkout, order_id: int, reason: str) -> asyncpg.Record:
    """Decide the failure first (so nothing can confirm it later); money and seats follow."""
    async with co.pool.acquire() as conn, conn.transaction():
        order = await conn.fetchrow(co.sql.order_lock, order_id)
        if order["status"] == "authorised":
            order = await transition(co, conn, order, "failed", reason=reason, seats_pending=True)
        return order
