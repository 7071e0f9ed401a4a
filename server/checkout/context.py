"""Wiring: the payment provider and checkout's background tasks for the app's life."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

from aiohttp import web

from server import keys
from server.checkout.payments import PaymentProvider, derive_webhook_secret
from server.checkout.reconciler import reconcile, try_reconcile
from server.checkout.sandbox import SandboxProvider
from server.checkout.state import Checkout
from server.checkout.tickets import ticket_secret
from server.config import ConfigError
from server.redis_store import KeySpace

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 5.0


def make_provider(app: web.Application) -> PaymentProvider:
    """The configured provider (checkout.payment_provider); add real adapters here."""
    settings = app[keys.SETTINGS]
    name = settings.checkout.payment_provider
    secret = derive_webhook_secret(settings.checkout.webhook_secret, app[keys.JWT_SECRET])
    if name == "sandbox":
        return SandboxProvider(app[keys.REDIS], KeySpace(settings.redis.key_prefix), secret, settings.checkout,
                               app[keys.CLOCK])
    raise ConfigError(f"setting checkout.payment_provider: unknown provider {name!r}")


def checkout_of(app: web.Application) -> Checkout:
    """Checkout's dependencies from the running app (cheap: only references)."""
    settings = app[keys.SETTINGS]
    return Checkout(
        pool=app[keys.DB], redis=app[keys.REDIS], sql=app[keys.QUERIES].checkout, holds=app[keys.HOLDS],
        provider=app[keys.PAYMENTS], settings=settings, keyspace=KeySpace(settings.redis.key_prefix),
        ticket_secret=ticket_secret(app[keys.JWT_SECRET]), clock=app[keys.CLOCK],
    )


async def _reconcile_forever(app: web.Application) -> None:
    interval = app[keys.SETTINGS].checkout.reconcile_interval_seconds
    co = checkout_of(app)
    try:
        await reconcile(co)  # start-up: finish whatever a crash left behind
    except Exception:
        log.exception("start-up reconciliation failed")
    while True:
        await asyncio.sleep(interval)
        try:
            await try_reconcile(co, interval)
        except Exception:  # a Redis or PostgreSQL blip: try again next interval
            log.exception("reconciliation failed")


async def checkout_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the provider in app[keys.PAYMENTS], webhook deliveries and the reconciler."""
    provider = make_provider(app)
    app[keys.PAYMENTS] = provider
    tasks = [asyncio.create_task(_reconcile_forever(app), name="checkout-reconciler")]
    if isinstance(provider, SandboxProvider):
        tasks.append(asyncio.create_task(provider.run_deliveries(), name="sandbox-webhooks"))
    yield
    if isinstance(provider, SandboxProvider):
        provider.stop()
    for task in tasks:
        task.cancel()
    # Bounded: a library that turns our cancel into its own timeout must not hang shutdown.
    _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
    for task in stuck:
        log.warning("%s did not stop within %ss; abandoning it", task.get_name(), SHUTDOWN_SECONDS)
        task.cancel()
    for task in set(tasks) - stuck:
        with contextlib.suppress(asyncio.CancelledError):
            task.result()
