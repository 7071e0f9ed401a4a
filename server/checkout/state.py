"""What every checkout step shares: its dependencies, the order state machine and its errors."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import asyncpg
from redis.asyncio import Redis

from server.checkout.payments import PaymentProvider
from server.clock import Clock
from server.config import Settings
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


@dataclass(frozen=True)
class Checkout:
    """The stores and services checkout works with (built once at start: app[keys.CHECKOUT])."""

    pool: asyncpg.Pool
    redis: Redis
    sql: SimpleNamespace  # the named queries of sql/queries/checkout.sql
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
    """Move a locked order to `to` and record who, when, from and to (call inside its transaction)."""
    if to not in TRANSITIONS.get(order["status"], frozenset()):
        raise RuntimeError(f"order {order['id']}: {order['status']} -> {to} is not a valid transition")
    failure = reason if to in ("failed", "expired") else None  # what the buyer is told went wrong
    now = co.clock.now()
    updated = await conn.fetchrow(co.sql.order_transition, order["id"], to, failure, seats_pending, now)
    await conn.execute(co.sql.order_event_insert, order["id"], order["status"], to, actor_id, reason, now)
    return updated
