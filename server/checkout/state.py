"""What every checkout step shares: its dependencies, the order state machine and its errors."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import asyncpg
from redis.asyncio import Redis

from server.checkout.payments import PaymentProvider
from server.clock import Clock
from server.config import Settings
from server.domain import outbox
from server.errors import error_class
from server.keyspace import KeySpace
from server.live.holds import HoldStore

IdempotencyMismatch = error_class("IdempotencyMismatch", 409, "idempotency_mismatch")
NotCancellable = error_class("NotCancellable", 409, "not_cancellable")
CancelClosed = error_class("CancelClosed", 409, "cancel_closed")
AlreadyRefunded = error_class("AlreadyRefunded", 409, "already_refunded")
NoPrice = error_class("NoPrice", 409, "no_price")
TicketUsed = error_class("TicketUsed", 409, "checked_in")  # a ticket of the order was used at the door

# Which status may follow which (anything else is a bug, not a user error).
TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({"pending"}),
    "pending": frozenset({"authorised", "failed", "expired"}),
    "authorised": frozenset({"paid", "failed"}),
    "paid": frozenset({"cancelled", "refunded"}),
}
# Statuses in which the buyer must get any authorised money back.
MONEY_RETURNED = frozenset({"failed", "expired", "cancelled", "refunded"})
# The message a status change owes the buyer (written to the outbox in the same transaction).
NOTICES = {"paid": outbox.ORDER_CONFIRMED, "cancelled": outbox.ORDER_CANCELLED, "refunded": outbox.ORDER_REFUNDED}
# The reason refund_screening gives: its refunds tell the buyer the cinema cancelled the show.
SCREENING_CANCELLED = "screening cancelled"


@dataclass(frozen=True)
class Checkout:
    """The stores and services checkout works with (built once at start: app[keys.CHECKOUT])."""

    pool: asyncpg.Pool
    redis: Redis
    sql: SimpleNamespace  # the named queries of sql/queries/checkout.sql
    outbox_sql: SimpleNamespace  # and of sql/queries/outbox.sql (messages to the buyer)
    holds: HoldStore
    provider: PaymentProvider
    settings: Settings
    keyspace: KeySpace
    ticket_secret: bytes
    clock: Clock  # the app's clock: order times, deadlines, the cancel cutoff, the reconciler


async def transition(
    co: Checkout,
    conn: asyncpg.Connection,
    order: asyncpg.Record,
    to: str,
    *,
    actor_id: int | None = None,
    reason: str | None = None,
    seats_pending: bool = False,
) -> asyncpg.Record:
    """Move a locked order to `to` and record who, when, from and to (call inside its transaction).

    A change the buyer must hear about (paid, cancelled, refunded) writes its message to the
    outbox in the same transaction: it is sent exactly when the change commits.
    """
    if to not in TRANSITIONS.get(order["status"], frozenset()):
        raise RuntimeError(f"order {order['id']}: {order['status']} -> {to} is not a valid transition")
    failure = reason if to in ("failed", "expired") else None  # what the buyer is told went wrong
    now = co.clock.now()
    updated = await conn.fetchrow(co.sql.order_transition, order["id"], to, failure, seats_pending, now)
    await conn.execute(co.sql.order_event_insert, order["id"], order["status"], to, actor_id, reason, now)
    notice = outbox.SCREENING_CANCELLED if to == "refunded" and reason == SCREENING_CANCELLED else NOTICES.get(to)
    if notice is not None:
        await outbox.enqueue(conn, co.outbox_sql, kind=notice, subject=order["order_key"], user_id=order["user_id"],
                             now=now)
    return updated
