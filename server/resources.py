"""The app's resources, one cleanup context each, listed in RESOURCES in dependency order.

Each context builds its object from the ones before it, puts it under its AppKey, and closes
it after the app stops. Background tasks stop by flag or cancellation within a bounded time.
"""
from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable

from aiohttp import web

from server import keys
from server.background import stop_within
from server.bus import EventBus
from server.bus_cluster import shards_for
from server.cache import CatalogCache
from server.checkout.payments import ProviderDeps, derive_webhook_secret
from server.checkout.providers import make_provider
from server.checkout.reconciler import run_reconciler
from server.checkout.state import Checkout
from server.checkout.tickets import ticket_secret
from server.db import create_pool
from server.domain.revocation import Revocations
from server.keyspace import KeySpace
from server.live.budget import UserBudget
from server.live.dashboard import DashboardHub
from server.live.admission import Gate, pass_key
from server.live.holds import HoldStore
from server.live.line import Line
from server.live.busy import BusyServers
from server.live.lines import LineHub
from server.live.rooms import RoomHub
from server.live.sweeper import run_sweeper
from server.live.waitlist import Waitlist, run_waitlist
from server.messaging.jobs import GRACEFUL_STOP_SECONDS, keep_working
from server.messaging.sender import open_messenger
from server.redis_client import create_redis
from server.services.catalog import CatalogAdmin

Resource = Callable[[web.Application], AsyncIterator[None]]


async def pool_context(app: web.Application) -> AsyncIterator[None]:
    """The PostgreSQL pool."""
    app[keys.DB] = await create_pool(app[keys.SETTINGS])
    yield
    await app[keys.DB].close()


async def redis_context(app: web.Application) -> AsyncIterator[None]:
    """The Redis client (a blocking pool: a rush queues for a connection instead of failing)."""
    app[keys.REDIS] = create_redis(app[keys.SETTINGS])
    yield
    await app[keys.REDIS].aclose()


async def bus_context(app: web.Application) -> AsyncIterator[None]:
    """The worker's one event bus (sharded pub/sub) that rooms, staff feed and revocations listen on."""
    app[keys.BUS] = EventBus(shards_for(app[keys.REDIS]))
    yield
    await app[keys.BUS].close()


async def cache_context(app: web.Application) -> AsyncIterator[None]:
    """The public catalog cache, over the Redis client."""
    settings = app[keys.SETTINGS]
    app[keys.CACHE] = CatalogCache(app[keys.REDIS], KeySpace(settings.redis.key_prefix),
                                   settings.cache.catalog_seconds, settings.cache.max_bytes)
    yield


async def holds_context(app: web.Application) -> AsyncIterator[None]:
    """The HoldStore (its Lua scripts loaded) and the expiry sweeper."""
    settings = app[keys.SETTINGS]
    store = HoldStore(app[keys.REDIS], app[keys.DB], settings, app[keys.JWT_SECRET], app[keys.QUERIES].live,
                      clock=app[keys.CLOCK])
    await store.load_scripts()
    app[keys.HOLDS] = store
    sweeper = asyncio.create_task(run_sweeper(store, settings.holds.sweep_interval_ms), name="holds-sweeper")
    yield
    await stop_within([sweeper])


async def waitlist_context(app: web.Application) -> AsyncIterator[None]:
    """The waiting lists: join/leave, and the task that records offers and hands on claim windows."""
    settings = app[keys.SETTINGS]
    waitlist = Waitlist(app[keys.DB], app[keys.HOLDS], app[keys.QUERIES].waitlist, app[keys.QUERIES].outbox,
                        settings, app[keys.CLOCK])
    app[keys.WAITLIST] = waitlist
    task = asyncio.create_task(run_waitlist(waitlist, settings.waitlist.offer_interval_ms), name="waitlist")
    yield
    await stop_within([task])


async def waiting_room_context(app: web.Application) -> AsyncIterator[None]:
    """The waiting room: its line store, the hold path's gate and this worker's admitter tick."""
    settings = app[keys.SETTINGS]
    key = pass_key(app[keys.JWT_SECRET])
    line = Line(app[keys.REDIS], app[keys.DB], app[keys.QUERIES].waiting_room, settings.waiting_room,
                KeySpace(settings.redis.key_prefix), app[keys.CLOCK], key)
    app[keys.LINE] = line
    app[keys.GATE] = Gate(key, app[keys.CLOCK], line.policy, line.shopping)
    busy = BusyServers(app[keys.REDIS], KeySpace(settings.redis.key_prefix).key("workers", "lag"), app[keys.CLOCK],
                       settings.waiting_room.busy_lag_ms)
    app[keys.BUSY] = busy
    hub = LineHub(line, app[keys.HOLDS], settings.waiting_room.tick_ms, busy.busy)
    app[keys.LINES] = hub
    await busy.start()
    await hub.start()
    yield
    await hub.close()
    await busy.close()


async def revocations_context(app: web.Application) -> AsyncIterator[None]:
    """Revocations of users' sockets: the channel's listener and the token-expiry sweep."""
    revocations = Revocations(app[keys.BUS], KeySpace(app[keys.SETTINGS].redis.key_prefix), app[keys.CLOCK])
    app[keys.REVOCATIONS] = revocations
    await revocations.start()
    tasks = [asyncio.create_task(revocations.run_sweeps(), name="token expiry sweep")]
    yield
    revocations.stop()
    await stop_within(tasks)


async def rooms_context(app: web.Application) -> AsyncIterator[None]:
    """This worker's RoomHub (the rooms' pub/sub listener and coalescing tick) and the users' command budget."""
    settings = app[keys.SETTINGS]
    hub = RoomHub(app[keys.BUS], app[keys.HOLDS], settings)
    app[keys.ROOMS] = hub
    app[keys.BUDGET] = UserBudget(app[keys.REDIS], KeySpace(settings.redis.key_prefix),
                                  settings.websocket.user_commands_per_second,
                                  settings.websocket.user_command_burst)
    await hub.start()
    yield
    await hub.close()


async def dashboard_context(app: web.Application) -> AsyncIterator[None]:
    """This worker's DashboardHub: the staff feed's figures and its subscription."""
    settings = app[keys.SETTINGS]
    app[keys.DASHBOARD] = DashboardHub(
        pool=app[keys.DB], queries=app[keys.QUERIES].dashboard, bus=app[keys.BUS],
        holds=app[keys.HOLDS], keyspace=KeySpace(settings.redis.key_prefix),
        tick_ms=settings.websocket.dashboard_tick_ms, currency=settings.checkout.currency,
        clock=app[keys.CLOCK], days_sql=app[keys.QUERIES].days, default_zone=settings.catalog.default_time_zone,
        line=app[keys.LINE],
    )
    yield
    await app[keys.DASHBOARD].close()


async def checkout_context(app: web.Application) -> AsyncIterator[None]:
    """The payment provider (started and stopped by its hooks), the Checkout and the reconciler."""
    settings = app[keys.SETTINGS]
    keyspace = KeySpace(settings.redis.key_prefix)
    secret = derive_webhook_secret(settings.checkout.webhook_secret, app[keys.JWT_SECRET])
    provider = make_provider(settings.checkout.payment_provider,
                             ProviderDeps(app[keys.DB], app[keys.QUERIES], secret, settings.checkout,
                                          app[keys.CLOCK]))
    app[keys.PAYMENTS] = provider
    checkout = Checkout(
        pool=app[keys.DB], redis=app[keys.REDIS], sql=app[keys.QUERIES].checkout,
        outbox_sql=app[keys.QUERIES].outbox, holds=app[keys.HOLDS],
        provider=provider, settings=settings, keyspace=keyspace, ticket_secret=ticket_secret(app[keys.JWT_SECRET]),
        clock=app[keys.CLOCK],
    )
    app[keys.CHECKOUT] = checkout
    await provider.start()
    reconciler = asyncio.create_task(
        run_reconciler(checkout, settings.checkout.reconcile_interval_seconds), name="checkout-reconciler")
    yield
    await stop_within([reconciler])
    await provider.stop()


async def messages_context(app: web.Application) -> AsyncIterator[None]:
    """Messages to customers: the Messenger (push keys, renderer) and, if configured, a job worker."""
    settings = app[keys.SETTINGS]
    async with open_messenger(settings, app[keys.DB], app[keys.QUERIES], app[keys.CLOCK],
                              app[keys.JWT_SECRET]) as messenger:
        app[keys.MESSENGER] = messenger
        worker = (asyncio.create_task(keep_working(messenger), name="jobs-worker")
                  if settings.jobs.worker_in_node else None)
        yield
        await stop_within([worker] if worker else [], GRACEFUL_STOP_SECONDS + 2)


async def catalog_context(app: web.Application) -> AsyncIterator[None]:
    """The catalog service: admin writes and what follows them (live seats, refunds)."""
    app[keys.CATALOG] = CatalogAdmin(app[keys.DB], app[keys.QUERIES], app[keys.CACHE], app[keys.HOLDS],
                                     app[keys.CHECKOUT], app[keys.BUS])
    yield


# Each one only uses what the ones before it made.
RESOURCES: tuple[Resource, ...] = (
    pool_context, redis_context, bus_context, cache_context, holds_context, waitlist_context, waiting_room_context,
    revocations_context, rooms_context, dashboard_context,
    checkout_context, messages_context, catalog_context,
)
