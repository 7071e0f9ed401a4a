"""Orders: created from the buyer's holds, priced on the server, cancelled and refunded.

Payment confirmation lives in confirm.py, the money/seat follow-ups in settle.py.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Awaitable, Callable, Sequence

import asyncpg

from server.checkout.confirm import on_authorised
from server.checkout.order_keys import new_order_key
from server.checkout.payments import UnknownPayment
from server.checkout.settle import settle_money, settle_seats
from server.checkout.state import (
    SCREENING_CANCELLED, AlreadyRefunded, CancelClosed, Checkout, IdempotencyMismatch, NoPrice, NotCancellable,
    TicketUsed, transition,
)
from server.domain import audit
from server.errors import NotFound
from server.live.errors import Houseful, NotHeld, ScreeningClosed, UnknownSeat
from server.live.holds import owner_of

log = logging.getLogger(__name__)
KEY_ATTEMPTS = 5  # order-key collisions are astronomically rare; retry a few times anyway
# A rule checked on the locked order (and its screening) before it is cancelled or refunded.
Check = Callable[[asyncpg.Connection, asyncpg.Record, asyncpg.Record], Awaitable[None]]


def _same_request(order: asyncpg.Record, screening_id: int, seat_ids: list[int]) -> asyncpg.Record:
    if order["screening_id"] != screening_id or sorted(order["seat_ids"]) != seat_ids:
        raise IdempotencyMismatch("this Idempotency-Key was already used for a different order")
    return order


async def create_order(
    co: Checkout, user_id: int, screening_id: int, seat_ids: Sequence[int], idempotency_key: str
) -> tuple[asyncpg.Record, bool]:
    """A pending order for seats the user holds; (order, created). The same key returns the same order.

    Two steps, and the provider is never called inside a PostgreSQL transaction: the order is
    committed first (insert_order), then its payment session is opened and recorded
    (start_payment). A crash between them leaves a pending order without a session: the same
    request again opens one, and otherwise the reconciler expires the order at its deadline.
    """
    seats = sorted(set(seat_ids))
    existing = await co.pool.fetchrow(co.sql.order_by_idempotency, user_id, idempotency_key)
    if existing is not None:
        return await start_payment(co, _same_request(existing, screening_id, seats)), False
    screening = await co.pool.fetchrow(co.sql.screening_for_order, screening_id)
    if screening is None:
        raise NotFound("no such screening", field="screening_id")
    if screening["status"] != "scheduled" or screening["starts_at"] <= co.clock.now():
        raise ScreeningClosed("this screening is no longer on sale")
    deadline = await _check_held(co, user_id, screening_id, seats)
    priced = await co.pool.fetch(co.sql.seats_priced, screening_id, seats)
    if len(priced) != len(seats):
        raise UnknownSeat("some of these seats are not seats of this screening", field="seat_ids")
    if any(row["price"] is None for row in priced):
        raise NoPrice("some of these seats have no price for this screening")
    prices = [row["price"] for row in priced]  # same order as `seats` (both sorted by id)
    expires_at = dt.datetime.fromtimestamp(deadline / 1000, dt.timezone.utc)
    order, created = await insert_order(co, user_id, screening_id, seats, prices, idempotency_key, expires_at)
    return await start_payment(co, order), created


async def _check_held(co: Checkout, user_id: int, screening_id: int, seats: list[int]) -> int:
    """The hold deadline (ms) if the user holds every seat; else houseful or not_held."""
    mine = await co.holds.my_holds(screening_id, owner_of(user_id))
    missing = sorted(set(seats) - set(mine["seats"]))
    if missing or mine["deadline"] is None:
        if (await co.holds.counts(screening_id))["houseful"]:
            raise Houseful("this screening is houseful")
        raise NotHeld("hold these seats before ordering them", field="seat_ids", seats=missing)
    return int(mine["deadline"])


async def insert_order(co: Checkout, user_id: int, screening_id: int, seats: list[int], prices: list[int],
                       idempotency_key: str, expires_at: dt.datetime) -> tuple[asyncpg.Record, bool]:
    """Step 1: the pending order and its first event, in one transaction; (order, created)."""
    currency = co.settings.checkout.currency
    now = co.clock.now()
    async with co.pool.acquire() as conn, conn.transaction():
        row = None
        for _ in range(KEY_ATTEMPTS):
            try:
                async with conn.transaction():  # a savepoint, so a key collision can be retried
                    row = await conn.fetchrow(co.sql.order_insert, new_order_key(), user_id, screening_id,
                                              sum(prices), currency, seats, prices, idempotency_key, expires_at,
                                              now)
                break
            except asyncpg.UniqueViolationError:
                continue
        if row is None:
            # A concurrent request with the same key committed first (we waited on its row).
            existing = await conn.fetchrow(co.sql.order_by_idempotency, user_id, idempotency_key)
            if existing is None:
                raise RuntimeError("could not allocate an order key")
            return _same_request(existing, screening_id, seats), False
        await conn.execute(co.sql.order_event_insert, row["id"], None, "pending", user_id, "order created", now)
    return row, True


async def start_payment(co: Checkout, order: asyncpg.Record) -> asyncpg.Record:
    """Step 2, outside any transaction: open the order's payment session and record it (once).

    Does nothing for an order that has a session or is no longer pending. Of two requests racing
    here (a double click) one session is recorded; the other is closed unused at the provider.
    """
    if order["payment_ref"] is not None or order["status"] != "pending":
        return order
    session = await co.provider.authorise(order["order_key"], order["amount"], order["currency"],
                                          f"/orders/{order['order_key']}")
    row = await co.pool.fetchrow(co.sql.order_set_payment, order["id"], session.payment_ref, session.payment_url,
                                 co.clock.now())
    if row is None:  # another request recorded its session first, or the order ended meanwhile
        await co.provider.cancel(session.payment_ref)
        row = await co.pool.fetchrow(co.sql.order_get, order["id"])
    return row


async def cancel_order(co: Checkout, user_id: int, order_key: str) -> asyncpg.Record:
    """The buyer cancels a paid order before the cutoff: tickets cancelled, money back, seats freed."""
    minutes = co.settings.checkout.cancel_cutoff_minutes
    cutoff = dt.timedelta(minutes=minutes)

    async def check(conn: asyncpg.Connection, order: asyncpg.Record, screening: asyncpg.Record) -> None:
        if order["user_id"] != user_id:
            raise NotFound("no such order")
        if co.clock.now() > screening["starts_at"] - cutoff:
            raise CancelClosed(f"orders can be cancelled until {minutes} minutes before the show")
        if await conn.fetchval(co.sql.order_checked_in_count, order["id"]):
            raise TicketUsed("a ticket of this order was already used at the door, so the order can no "
                             "longer be cancelled; the cinema's staff can help")

    return await _undo(co, order_key, "cancelled", user_id, "cancelled by the customer", check)


async def refund_order(co: Checkout, actor_id: int | None, order_key: str, reason: str = "refunded by staff",
                       include_checked_in: bool = False, ip: str | None = None) -> asyncpg.Record:
    """Staff refund any paid order, at any time (audited).

    An order with tickets already used at the door is refunded only on purpose (include_checked_in).
    """
    async def check(conn: asyncpg.Connection, order: asyncpg.Record, screening: asyncpg.Record) -> None:
        used = await conn.fetchval(co.sql.order_checked_in_count, order["id"])
        if used and not include_checked_in:
            raise TicketUsed(f"{used} ticket(s) of this order were already used at the door; "
                             "refund with include_checked_in=true to refund it anyway")
        if order["status"] == "paid":
            await audit.record(conn, actor_id, "order.refund", {
                "order_key": order["order_key"], "amount": order["amount"], "reason": reason,
                "checked_in": used}, ip)

    return await _undo(co, order_key, "refunded", actor_id, reason, check)


async def _undo(co: Checkout, order_key: str, to: str, actor_id: int | None, reason: str,
                check: Check) -> asyncpg.Record:
    order = await mark_undone(co, order_key, to, actor_id, reason, check)
    await settle_money(co, order["id"])
    await settle_seats(co, order["id"])
    return await co.pool.fetchrow(co.sql.order_get, order["id"])


async def mark_undone(co: Checkout, order_key: str, to: str, actor_id: int | None, reason: str,
                      check: Check | None = None) -> asyncpg.Record:
    """Cancel the tickets and move a paid order to cancelled/refunded; refund and seats follow."""
    async with co.pool.acquire() as conn, conn.transaction():
        order = await conn.fetchrow(co.sql.order_lock_by_key, order_key)
        if order is None:
            raise NotFound("no such order")
        screening = await conn.fetchrow(co.sql.screening_for_order, order["screening_id"])
        if check is not None:
            await check(conn, order, screening)
        if order["status"] in ("cancelled", "refunded"):
            raise AlreadyRefunded(f"this order was already {order['status']}")
        if order["status"] != "paid":
            raise NotCancellable(f"a {order['status']} order cannot be {to}")
        await conn.execute(co.sql.tickets_cancel, order["id"])
        return await transition(co, conn, order, to, actor_id=actor_id, reason=reason, seats_pending=True)


async def expire_order(co: Checkout, order_id: int, follow_hold: bool = True,
                       reason: str = "hold expired") -> str:
    """A pending order past its deadline: close the payment session, unless the buyer just paid.

    With follow_hold, an order whose seats are still held (the hold was extended) lives on.
    """
    order = await co.pool.fetchrow(co.sql.order_get, order_id)
    if order is None or order["status"] != "pending":
        return order["status"] if order else "unknown"
    ref = order["payment_ref"]
    if follow_hold and ref and await co.provider.status(ref) == "created" and await _hold_extended(co, order):
        return "pending"  # still unpaid, but the buyer kept the seats: wait for the new deadline
    state = await _close_session(co, order)
    if state in ("authorised", "captured"):
        return await on_authorised(co, order_id)  # paid just in time: confirm (or void) it
    async with co.pool.acquire() as conn, conn.transaction():
        order = await conn.fetchrow(co.sql.order_lock, order_id)
        if order["status"] != "pending":
            return order["status"]
        to, reason = ("failed", f"payment {state}") if state in ("declined", "failed") else ("expired", reason)
        return (await transition(co, conn, order, to, reason=reason))["status"]


async def _close_session(co: Checkout, order: asyncpg.Record) -> str:
    """Close the order's payment session at the provider; the payment's state after.

    A payment the provider does not know was never authorised (it cannot hold money it has no
    record of), so it counts as closed: the order expires rather than waiting forever.
    """
    if not order["payment_ref"]:
        return "cancelled"  # the session was never recorded: nothing to close
    try:
        return await co.provider.cancel(order["payment_ref"])
    except UnknownPayment:
        log.warning("order %s: the provider does not know payment %s; expiring it as never paid",
                    order["order_key"], order["payment_ref"])
        return "cancelled"


async def _hold_extended(co: Checkout, order: asyncpg.Record) -> bool:
    """The buyer extended the hold on every seat: the order lives until the new deadline."""
    mine = await co.holds.my_holds(order["screening_id"], owner_of(order["user_id"]))
    deadline = mine["deadline"]
    if deadline is None or not set(order["seat_ids"]) <= set(mine["seats"]):
        return False
    expires_at = dt.datetime.fromtimestamp(int(deadline) / 1000, dt.timezone.utc)
    now = co.clock.now()
    if expires_at <= now:
        return False
    await co.pool.execute(co.sql.order_extend, order["id"], expires_at, now)
    return True


async def refund_screening(co: Checkout, screening_id: int, actor_id: int | None) -> int:
    """A cancelled screening: refund every paid order and close open ones; returns how many were refunded."""
    refunded = 0
    for row in await co.pool.fetch(co.sql.orders_of_screening, screening_id, ["paid"]):
        order = await co.pool.fetchrow(co.sql.order_get, row["id"])
        try:
            await refund_order(co, actor_id, order["order_key"], SCREENING_CANCELLED, include_checked_in=True)
            refunded += 1
        except (AlreadyRefunded, NotCancellable):
            pass  # changed meanwhile (e.g. the buyer cancelled): nothing left to do
    # Pending orders: close their payment sessions; authorised ones fail in commit_tickets.
    for row in await co.pool.fetch(co.sql.orders_of_screening, screening_id, ["pending"]):
        await expire_order(co, row["id"], follow_hold=False, reason=SCREENING_CANCELLED)
    return refunded
