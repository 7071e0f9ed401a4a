"""The built-in sandbox payment provider: behaves like a real one, with test cards.

Its state lives in Redis (one hash per payment, an outbox of webhook deliveries), all under
the `{sbx}` hash tag so its Lua scripts stay on one Cluster slot. The buyer pays on a hosted
page (server/api/sandbox_pay.py); the result reaches the app only through a signed webhook
POSTed over HTTP and retried with backoff until the app answers 2xx.
"""
from __future__ import annotations

import asyncio
import logging
import re
import secrets
from typing import Any, Mapping

import aiohttp
import orjson
from redis.asyncio import Redis

from server.checkout import payments
from server.checkout.payments import AlreadyCaptured, PaymentEvent, PaymentSession, ProviderError
from server.clock import Clock
from server.config import CheckoutSettings
from server.redis_store import KeySpace

log = logging.getLogger(__name__)
PAGE_PATH = "/pay/sandbox/"
PAYMENT_ID = re.compile(r"^sbx_[0-9a-f]{32}$")
KEEP_SECONDS = 90 * 86_400  # payments stay refundable this long
MAX_ATTEMPTS = 40  # ~ half an hour of capped retries, then the delivery is dead-lettered
DELIVERY_TIMEOUT = 30.0  # a slower answer is retried (and the app applies the duplicate idempotently)
LEASE_MS = 30_000  # a claimed delivery is retried by another worker if this one dies mid-send

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

# Move the payment from one state to another, atomically; ARGV[1] names a counter to bump.
_TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {0, ''} end
for i = 2, #ARGV, 2 do
  if ARGV[i] == status then
    redis.call('HSET', KEYS[1], 'status', ARGV[i + 1])
    if ARGV[1] ~= '' then redis.call('HINCRBY', KEYS[1], ARGV[1], 1) end
    return {1, ARGV[i + 1]}
  end
end
return {0, status}
"""
# The buyer submits a card: record the outcome and queue its webhook in one step.
_SUBMIT = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'created' then return status or '' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'last4', ARGV[5], 'webhook_url', ARGV[4])
if ARGV[1] == 'authorised' then redis.call('HINCRBY', KEYS[1], 'authorisations', 1) end
redis.call('HSET', KEYS[3], 'body', ARGV[2], 'url', ARGV[4], 'attempts', 0)
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[7])
return 'ok'
"""
# Claim due deliveries by pushing their due time a lease ahead.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id) end
return ids
"""


def card_digits(text: str) -> str:
    """The digits of a typed card number (spaces and dashes ignored)."""
    return "".join(ch for ch in text if ch.isdigit())


class SandboxProvider:
    """A PaymentProvider whose bank is a Redis hash and whose cards are the TEST_CARDS."""

    name = "sandbox"

    def __init__(self, redis: Redis, keyspace: KeySpace, secret: str, settings: CheckoutSettings,
                 clock: Clock) -> None:
        self.redis = redis
        self.clock = clock  # the app's: signatures must be fresh by the clock that checks them
        self.ks = keyspace
        self.secret = secret
        self.settings = settings
        self.wake = asyncio.Event()
        self.stopping = False
        self._transition = redis.register_script(_TRANSITION)
        self._submit = redis.register_script(_SUBMIT)
        self._claim = redis.register_script(_CLAIM)

    def _payment_key(self, ref: str) -> str:
        return self.ks.key("{sbx}", "payment", ref)

    def _event_key(self, event_id: str) -> str:
        return self.ks.key("{sbx}", "event", event_id)

    @property
    def _outbox(self) -> str:
        return self.ks.key("{sbx}", "outbox")

    # --- the PaymentProvider interface -------------------------------------------------

    async def authorise(self, reference: str, amount: int, currency: str, return_url: str) -> PaymentSession:
        """Open a payment session for `amount`; the buyer pays on its hosted page."""
        ref = "sbx_" + secrets.token_hex(16)
        key = self._payment_key(ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"reference": reference, "amount": amount, "currency": currency,
                                    "return_url": return_url, "status": "created",
                                    "created_ms": self.clock.ms()})
            pipe.expire(key, KEEP_SECONDS)
            await pipe.execute()
        return PaymentSession(ref, PAGE_PATH + ref)

    async def _move(self, ref: str, counter: str, *pairs: str) -> tuple[bool, str]:
        changed, status = await self._transition(keys=[self._payment_key(ref)], args=[counter, *pairs])
        status = status.decode() if isinstance(status, bytes) else status
        if not status:
            raise ProviderError(f"unknown payment {ref}")
        return bool(changed), status

    async def capture(self, payment_ref: str, amount: int) -> None:
        """Take the money; capturing a captured payment again changes nothing."""
        _, status = await self._move(payment_ref, "captures", "authorised", "captured")
        if status not in ("captured", "refunded"):
            raise ProviderError(f"cannot capture a {status} payment")

    async def void(self, payment_ref: str) -> str:
        """Release the authorisation (or close an unpaid session)."""
        _, status = await self._move(payment_ref, "voids", "authorised", "voided", "created", "cancelled")
        if status in ("captured", "refunded"):
            raise AlreadyCaptured("the payment was captured; refund it")
        return status

    async def cancel(self, payment_ref: str) -> str:
        """Close the session if still unpaid; else report its state."""
        _, status = await self._move(payment_ref, "", "created", "cancelled")
        return status

    async def refund(self, payment_ref: str, amount: int) -> None:
        """Return captured money; refunding twice changes nothing."""
        _, status = await self._move(payment_ref, "refunds", "captured", "refunded")
        if status != "refunded":
            raise ProviderError(f"cannot refund a {status} payment")

    async def status(self, payment_ref: str) -> str:
        """The payment's state as the provider sees it."""
        raw = await self.redis.hget(self._payment_key(payment_ref), "status")
        return raw.decode() if raw else "unknown"

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
        raw = await self.redis.hgetall(self._payment_key(payment_ref))
        if not raw:
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        for name in ("amount", "authorisations", "captures", "voids", "refunds"):
            data[name] = int(data.get(name, 0))
        return data

    async def submit_card(self, payment_ref: str, card: str, webhook_url: str) -> str:
        """The buyer pays with a test card: record the outcome and queue the webhook.

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
        due = int((self.clock.time() + (self.settings.sandbox_slow_seconds if slow else 0)) * 1000)
        result = await self._submit(
            keys=[self._payment_key(payment_ref), self._outbox, self._event_key(event_id)],
            args=[status, body, due, webhook_url, digits[-4:], KEEP_SECONDS, event_id],
        )
        result = result.decode() if isinstance(result, bytes) else result
        if result != "ok":
            raise ProviderError(f"this payment is already {result}")
        self.wake.set()
        return status

    # --- webhook delivery --------------------------------------------------------------

    async def deliver_due(self, session: aiohttp.ClientSession, limit: int = 50) -> int:
        """Send every due webhook once; returns how many were acknowledged."""
        now = self.clock.ms()
        ids = await self._claim(keys=[self._outbox], args=[now, LEASE_MS, limit])
        results = await asyncio.gather(*(self._deliver(session, i.decode()) for i in ids))
        return sum(results)

    async def _deliver(self, session: aiohttp.ClientSession, event_id: str) -> bool:
        key = self._event_key(event_id)
        raw = await self.redis.hgetall(key)
        if not raw:
            await self.redis.zrem(self._outbox, event_id)
            return False
        body, url, attempts = raw[b"body"], raw[b"url"].decode(), int(raw[b"attempts"])
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
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self._outbox, event_id)
                pipe.delete(key)
                await pipe.execute()
            return True
        await self._retry_later(event_id, attempts + 1, detail)
        return False

    async def _retry_later(self, event_id: str, attempts: int, detail: str) -> None:
        key = self._event_key(event_id)
        if attempts >= MAX_ATTEMPTS:
            log.error("webhook %s dead-lettered after %d attempts (%s)", event_id, attempts, detail)
            await self.redis.zrem(self._outbox, event_id)
            await self.redis.hset(key, mapping={"attempts": attempts, "dead": 1})
            return
        delay = min(60.0, self.settings.webhook_retry_seconds * 2 ** (attempts - 1))
        log.info("webhook %s not acknowledged (%s); retry %d in %.2fs", event_id, detail, attempts, delay)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "attempts", attempts)
            pipe.zadd(self._outbox, {event_id: int((self.clock.time() + delay) * 1000)})
            await pipe.execute()

    def stop(self) -> None:
        """Ask the delivery loop to finish after its current round."""
        self.stopping = True
        self.wake.set()

    async def run_deliveries(self, poll_seconds: float = 0.1) -> None:
        """Deliver webhooks for the app's life: woken by a new payment, or polled for retries."""
        async with aiohttp.ClientSession() as session:
            # A stop flag, not only cancellation: aiohttp's request timer can turn a cancel that
            # coincides with its own timeout into TimeoutError, which the retry path swallows.
            while not self.stopping:
                self.wake.clear()
                try:
                    await self.deliver_due(session)
                except Exception:  # Redis blips must not end the delivery loop
                    log.exception("webhook delivery round failed")
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that lands as the wait ends, and shutdown then waits forever.
                try:
                    async with asyncio.timeout(poll_seconds):
                        await self.wake.wait()
                except TimeoutError:
                    pass
