"""The payment-provider interface, and the signed-webhook format every provider adapter speaks.

Money moves in two steps: the buyer authorises an amount on the provider's hosted page, then
the app captures it only after the tickets are committed (or voids it when the seats were
lost). Providers report asynchronously through a signed webhook. See docs/checkout.md.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Mapping, Protocol

import asyncpg
import orjson

from server.clock import Clock
from server.config import CheckoutSettings
from server.errors import error_class

SIGNATURE_HEADER = "Houseful-Signature"

BadSignature = error_class("BadSignature", 400, "bad_signature")
StaleWebhook = error_class("StaleWebhook", 400, "stale_webhook")
ReplayedWebhook = error_class("ReplayedWebhook", 409, "replayed_webhook")
# Raised by adapters when the provider refuses an operation (e.g. capturing a voided payment).
ProviderError = error_class("ProviderError", 502, "payment_provider_error")
# void() on money already taken: the caller must refund instead.
AlreadyCaptured = error_class("AlreadyCaptured", 409, "already_captured")


class UnknownPayment(ProviderError):  # type: ignore[misc, valid-type]
    """The provider has no record of the payment: it never authorised anything (nothing to void)."""

    code = "unknown_payment"

# Event kinds a webhook may carry.
AUTHORISED = "payment.authorised"
DECLINED = "payment.declined"
FAILED = "payment.failed"
EVENT_KINDS = (AUTHORISED, DECLINED, FAILED)


@dataclass(frozen=True)
class PaymentSession:
    """A started payment: the provider's reference and the page where the buyer pays."""

    payment_ref: str
    payment_url: str


@dataclass(frozen=True)
class PaymentEvent:
    """A verified webhook: which payment, what happened, and when it was signed."""

    event_id: str
    kind: str
    payment_ref: str
    reference: str  # our order key, echoed back by the provider
    reason: str | None
    signed_at: int


@dataclass(frozen=True)
class ProviderDeps:
    """What a provider adapter may be built from.

    A provider's own state is the provider's: a real one keeps it at the provider, the sandbox in
    its own PostgreSQL tables (`pool`, `queries.sandbox`) — never in the app's Redis, which may
    be lost (docs/architecture.md, invariant 8).
    """

    pool: asyncpg.Pool
    queries: SimpleNamespace  # every named query file (app[keys.QUERIES]); an adapter uses its own
    webhook_secret: str
    settings: CheckoutSettings
    clock: Clock  # the app's: a provider's times and webhook signatures read it


class PaymentProvider(Protocol):
    """What checkout needs from a payment provider. Every operation is idempotent per payment.

    Adapters are registered by name in server/checkout/providers.py and built there from
    ProviderDeps; `start` and `stop` bracket the app's life (background work such as webhook
    deliveries), and `stop` must return within a few seconds.
    """

    name: str

    async def start(self) -> None:
        """Begin any background work the provider needs (called once at app start)."""

    async def stop(self) -> None:
        """End that background work (called once at shutdown; bounded in time)."""

    async def authorise(self, reference: str, amount: int, currency: str, return_url: str) -> PaymentSession:
        """Start an authorisation of `amount`; the buyer completes it on the returned page."""

    async def capture(self, payment_ref: str, amount: int) -> None:
        """Take the authorised money (a second capture of the same payment is a no-op)."""

    async def void(self, payment_ref: str) -> str:
        """Release an authorisation (or cancel an unpaid session); AlreadyCaptured if money was taken."""

    async def cancel(self, payment_ref: str) -> str:
        """Close an unpaid session so it can no longer be paid; returns the payment's state after.

        "cancelled" when it was still unpaid; otherwise its state (e.g. "authorised": the buyer
        paid just in time, so the caller confirms rather than expires the order). UnknownPayment
        when the provider has no such payment (then nothing was ever authorised).
        """

    async def refund(self, payment_ref: str, amount: int) -> None:
        """Return captured money (a second refund of the same payment is a no-op)."""

    async def status(self, payment_ref: str) -> str:
        """The provider's view: created, authorised, captured, voided, cancelled, refunded, declined, failed."""

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentEvent:
        """Check a webhook's signature and freshness and parse it; BadSignature / StaleWebhook otherwise."""


def derive_webhook_secret(configured: str, jwt_secret: str) -> str:
    """The configured webhook secret, or one derived from the JWT secret (never the JWT secret itself).

    Derived: the lowercase hex digest of HMAC-SHA256(jwt_secret as UTF-8, b"houseful:payment-webhook");
    signatures use the secret's UTF-8 bytes as their key (docs/checkout.md, "Webhook format").
    """
    if configured:
        return configured
    return hmac.new(jwt_secret.encode(), b"houseful:payment-webhook", hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str | None, body: bytes, tolerance_seconds: int, now: float) -> int:
    """Check a signature header against the raw body at `now` (the app's clock); returns the signing time."""
    if not header:
        raise BadSignature(f"missing {SIGNATURE_HEADER} header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        raise BadSignature("malformed signature header") from None
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    # Bytes, not str: compare_digest refuses non-ASCII text (a TypeError, once a 500).
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise BadSignature("signature does not match")
    # Checked after the MAC so an attacker learns nothing from timing about stale vs forged.
    if abs(now - timestamp) > tolerance_seconds:
        raise StaleWebhook("webhook timestamp is outside the allowed window")
    return timestamp


def parse_event(body: bytes, signed_at: int) -> PaymentEvent:
    """A verified webhook body as a PaymentEvent (BadSignature if its shape is wrong)."""
    try:
        data: Any = orjson.loads(body)
        payment = data["data"]
        kind = data["type"]
        event = PaymentEvent(str(data["id"]), kind, str(payment["payment_id"]), str(payment["reference"]),
                             payment.get("reason"), signed_at)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise BadSignature("webhook body is not a payment event") from None
    if kind not in EVENT_KINDS:
        raise BadSignature(f"unknown event type {kind}")
    return event
