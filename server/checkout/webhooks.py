"""A provider's webhook, received: verified, refused if it is a replay, then applied once."""
from __future__ import annotations

import contextlib
from typing import Mapping

from server.checkout.confirm import handle_event
from server.checkout.payments import ReplayedWebhook
from server.checkout.state import Checkout
from server.errors import DomainError
from server.metrics import WEBHOOKS


async def receive_webhook(co: Checkout, headers: Mapping[str, str], body: bytes) -> str:
    """Verify a delivery, refuse an exact replay (409), apply the event; returns the order's status."""
    try:
        status = await _receive(co, headers, body)
    except ReplayedWebhook:
        WEBHOOKS.labels("replayed").inc()
        raise
    except Exception as exc:
        # Refused: a bad signature, a stale timestamp (4xx). Failed: not applied (PostgreSQL out,
        # 5xx); the provider sends it again.
        refused = isinstance(exc, DomainError) and exc.status < 500
        WEBHOOKS.labels("refused" if refused else "failed").inc()
        raise
    WEBHOOKS.labels("applied").inc()
    return status


async def _receive(co: Checkout, headers: Mapping[str, str], body: bytes) -> str:
    event = co.provider.verify_callback(headers, body)
    # Remember each signed delivery for longer than it stays fresh: an exact copy is a replay.
    seen = co.keyspace.key("webhook", "seen", event.event_id, event.signed_at)
    ttl = 2 * co.settings.checkout.webhook_tolerance_seconds + 60
    if not await co.redis.set(seen, b"1", nx=True, ex=ttl):
        raise ReplayedWebhook("this webhook delivery was already received")
    try:
        return await handle_event(co, event)
    except BaseException:
        # Not applied (e.g. PostgreSQL is out: 503): the same signed request, sent again, must be
        # accepted, not refused as a replay. Best effort: if Redis is the store that is out, the
        # memory is gone anyway.
        with contextlib.suppress(Exception):
            await co.redis.delete(seen)
        raise
