"""The built-in sandbox payment provider: behaves like a real one, with test cards.

It stands in for an external provider, so its state is its own books in PostgreSQL (tables
sandbox_payment and sandbox_webhook, queries in sql/queries/sandbox.sql), never the app's Redis:
a Redis restart loses no payment, counter or queued webhook, as it would lose nothing at a real
bank. The buyer pays on a hosted page (server/api/sandbox_pay.py); the result reaches the app
only through a signed webhook POSTed over HTTP and retried with backoff until the app answers 2xx.
"""
from __future__ import annotations

import datetime as dt
import asyncio
import logging
import re
import secrets
from types import SimpleNamespace
from typing import Any, Mapping

import aiohttp
import asyncpg
import orjson

from server.background import stop_within
from server.checkout import payments
from server.checkout.payments import (
    AlreadyCaptured, PaymentEvent, PaymentSession, ProviderDeps, ProviderError, UnknownPayment,
)
from server.clock import Clock
from server.config import CheckoutSettings

log = logging.getLogger(__name__)
PAGE_PATH = "/pay/sandbox/"
PAYMENT_ID = re.compile(r"^sbx_[0-9a-f]{32}$")
MAX_ATTEMPTS = 40  # ~ half an hour of capped retries, then the delivery is dead-lettered
DELIVERY_TIMEOUT = 30.0  # a slower answer is retried (and the app applies the duplicate idempotently)
LEASE_SECONDS = 30.0  # a claimed delivery is retried by another worker if this one dies mid-send
IDLE_POLL_SECONDS = 1.0  # longest wait between looks at the outbox (other workers' retries, leases)
COUNTERS = ("authorisations", "captures", "voids", "refunds")

# card number -> (payment status, webhook kind, reason, slow?)
TEST_CARDS: dict[str, tuple[str, str, str | None, bool]] = {
    "4242424242424242": ("authorised", payments.AUTHORISED, None, False),
    "4000000000000002": ("declined", payments.DECLINED, "card_declined", False),
    "4000000000009995": ("declined", payments.DECLINED, "insufficient_funds", False),
    "4000000000000259": ("authorised", payments.AUTHORISED, None, True),
    "4000000000000119": ("failed", payments.FAILED, "provider_error", False),
}
CARD_LABELS = {
    "4242424242424242": "succeeds",
    "4000000000000002": "is declined",
    "4000000000009995": "is declined for insufficient funds",
    "4000000000000259": "succeeds after a few seconds",
    "4000000000000119": "fails with a provider error",
}


def card_digits(text: str) -> str:
    """The digits of a typed card number (spaces and dashes ignored)."""
    return "".join(ch for ch in text if ch.isdigit())


class SandboxProvider:
    """A PaymentProvider whose bank is two PostgreSQL tables and whose cards are the TEST_CARDS."""

    name = "sandbox"

    def __init__(self, pool: asyncpg.Pool, sql: SimpleNamespace, secret: str, settings: CheckoutSettings,
                 clock: Clock) -> None:
        """`sql`: the named queries of sql/queries/sandbox.sql; `clock`: the app's (its books' times,
        and signatures must be fresh by the clock that checks them)."""
        self.pool = pool
        self.sql = sql
        self.clock = clock
        self.secret = secret
        self.settings = settings
        self.wake = asyncio.Event()
        self.stopping = False
        self._deliveries: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, deps: ProviderDeps) -> SandboxProvider:
        """The registry's factory (server/checkout/providers.py)."""
        return cls(deps.pool, deps.queries.sandbox, deps.webhook_secret, deps.settings, deps.clock)

    async def start(self) -> None:
        """Deliver webhooks in the background for the app's life."""
        self.stopping = False
        self._deliveries = asyncio.create_task(self.run_deliveries(), name="sandbox-webhooks")

    async def stop(self) -> None:
        """Stop the deliveries (a flag and a cancel), waiting a bounded time."""
        self.stopping = True
        self.wake.set()
        task, self._deliveries = self._deliveries, None
        if task is not None:
            await stop_within([task])

    # --- the PaymentProvider interface -------------------------------------------------

    async def authorise(self, reference: str, amount: int, currency: str, return_url: str) -> PaymentSession:
        """Open a payment session for `amount`; the buyer pays on its hosted page."""
        ref = "sbx_" + secrets.token_hex(16)
        await self.pool.execute(self.sql.payment_create, ref, reference, amount, currency, return_url,
                                self.clock.now())
        return PaymentSession(ref, PAGE_PATH + ref)

    async def _move(self, ref: str, counter: str, *pairs: tuple[str, str]) -> str:
        """Compare-and-set the payment's status along the first matching (from, to) pair; its status after."""
        row = await self.pool.fetchrow(self.sql.payment_move, ref, [a for a, _ in pairs], [b for _, b in pairs],
                                       counter, self.clock.now())
        if row["status"] is None:
            raise UnknownPayment(f"unknown payment {ref}")
        return row["moved"] or row["status"]

    async def capture(self, payment_ref: str, amount: int) -> None:
        """Take the money; capturing a captured payment again changes nothing."""
        status = await self._move(payment_ref, "captures", ("authorised", "captured"))
        if status not in ("captured", "refunded"):
            raise ProviderError(f"cannot capture a {status} payment")

    async def void(self, payment_ref: str) -> str:
        """Release the authorisation (or close an unpaid session)."""
        status = await self._move(payment_ref, "voids", ("authorised", "voided"), ("created", "cancelled"))
        if status in ("captured", "refunded"):
            raise AlreadyCaptured("the payment was captured; refund it")
        return status

    async def cancel(self, payment_ref: str) -> str:
        """Close the session if still unpaid; else report its state."""
        return await self._move(payment_ref, "", ("created", "cancelled"))

    async def refund(self, payment_ref: str, amount: int) -> None:
        """Return captured money; refunding twice changes nothing."""
        status = await self._move(payment_ref, "refunds", ("captured", "refunded"))
        if status != "refunded":
            raise ProviderError(f"cannot refund a {status} payment")

    async def status(self, payment_ref: str) -> str:
        """The payment's state as the provider sees it ("unknown" if it has no such payment)."""
        return await self.pool.fetchval(self.sql.payment_status, payment_ref) or "unknown"

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentEvent:
        """Verify the HMAC signature and freshness, then parse the event."""
        signed_at = payments.verify(self.secret, headers.get(payments.SIGNATURE_HEADER), body,
                                    self.settings.webhook_tolerance_seconds, self.clock.time())
        return payments.parse_event(body, signed_at)

    # --- the hosted page ---------------------------------------------------------------

    async def payment(self, payment_ref: str) -> dict[str, Any] | None:
        """The payment as the hosted page shows it (None if unknown), with its counters."""
        if not PAYMENT_ID.match(payment_ref):
            return None
        row = await self.pool.fetchrow(self.sql.payment_get, payment_ref)
        return dict(row) if row is not None else None

    async def session_deadline(self, payment: dict[str, Any]) -> dt.datetime | None:
        """When the shop stops waiting for an open payment (None once it is no longer open)."""
        if payment["status"] != "created":
            return None
        return await self.pool.fetchval(self.sql.session_deadline, payment["reference"])

    async def submit_card(self, payment_ref: str, card: str, webhook_url: str) -> str:
        """The buyer pays with a test card: record the outcome and queue the webhook, in one statement.

        Returns the payment's new status, or raises ProviderError for an unknown card or a
        payment that is no longer open.
        """
        digits = card_digits(card)
        if digits not in TEST_CARDS:
            raise ProviderError("use one of the test cards listed on this page")
        found = await self.payment(payment_ref)
        if found is None:
            raise ProviderError("unknown payment")
        status, kind, reason, slow = TEST_CARDS[digits]
        event_id = "evt_" + secrets.token_hex(12)
        body = orjson.dumps({
            "id": event_id, "type": kind, "created": int(self.clock.time()),
            "data": {"payment_id": payment_ref, "reference": found["reference"], "amount": found["amount"],
                     "currency": found["currency"], "reason": reason},
        })
        delay = self.settings.sandbox_slow_seconds if slow else 0.0
        row = await self.pool.fetchrow(self.sql.payment_submit, payment_ref, status, digits[-4:], webhook_url,
                                       event_id, body, delay, self.clock.now())
        if row["queued"] is None:
            raise ProviderError(f"this payment is already {row['status']}")
        self.wake.set()
        return status

    # --- webhook delivery --------------------------------------------------------------

    async def deliver_due(self, session: aiohttp.ClientSession, limit: int = 50) -> int:
        """Send every due webhook once; returns how many were acknowledged."""
        claimed = await self.pool.fetch(self.sql.webhooks_claim, LEASE_SECONDS, limit, self.clock.now())
        results = await asyncio.gather(*(self._deliver(session, row) for row in claimed))
        return sum(results)

    async def _deliver(self, session: aiohttp.ClientSession, row: asyncpg.Record) -> bool:
        event_id, body, url = row["event_id"], bytes(row["body"]), row["url"]
        # Signed at send time: a retry is a new, fresh request; a captured copy goes stale.
        headers = {payments.SIGNATURE_HEADER: payments.sign(self.secret, int(self.clock.time()), body),
                   "Content-Type": "application/json"}
        try:
            async with session.post(url, data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT)) as resp:
                ok = 200 <= resp.status < 300
                detail = str(resp.status)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            ok, detail = False, type(exc).__name__
        if ok:
            await self.pool.execute(self.sql.webhook_delivered, event_id)
            return True
        await self._retry_later(event_id, row["attempts"] + 1, detail)
        return False

    async def _retry_later(self, event_id: str, attempts: int, detail: str) -> None:
        if attempts >= MAX_ATTEMPTS:
            log.error("webhook %s dead-lettered after %d attempts (%s)", event_id, attempts, detail)
            await self.pool.execute(self.sql.webhook_dead, event_id, attempts)
            return
        delay = min(60.0, self.settings.webhook_retry_seconds * 2 ** (attempts - 1))
        log.info("webhook %s not acknowledged (%s); retry %d in %.2fs", event_id, detail, attempts, delay)
        await self.pool.execute(self.sql.webhook_retry, event_id, attempts, delay, self.clock.now())

    async def _next_wait(self) -> float:
        """How long to sleep before the next round: until the next due delivery, at most a second."""
        due_in = await self.pool.fetchval(self.sql.webhook_next_due, self.clock.now())
        return IDLE_POLL_SECONDS if due_in is None else min(IDLE_POLL_SECONDS, max(0.01, due_in))

    async def run_deliveries(self) -> None:
        """Deliver webhooks for the app's life: woken by a new payment, else when the next one is due."""
        async with aiohttp.ClientSession() as session:
            # A stop flag, not only cancellation: aiohttp's request timer can turn a cancel that
            # coincides with its own timeout into TimeoutError, which the retry path swallows.
            while not self.stopping:
                self.wake.clear()
                wait = IDLE_POLL_SECONDS
                try:
                    await self.deliver_due(session)
                    wait = await self._next_wait()
                except Exception:  # a PostgreSQL blip must not end the delivery loop
                    log.exception("webhook delivery round failed")
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that lands as the wait ends, and shutdown then waits forever.
                try:
                    async with asyncio.timeout(wait):
                        await self.wake.wait()
                except TimeoutError:
                    pass
