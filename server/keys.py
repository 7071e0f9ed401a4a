"""Every object shared through the aiohttp application, as typed AppKeys declared in one place."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from server.clock import Clock
from server.config import Settings
from server.queries import Queries

if TYPE_CHECKING:
    from server.live.holds import HoldStore
    from server.live.rooms import RoomHub
    from server.live.dashboard import DashboardHub

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
# The one wall clock (server/clock.py): SystemClock in production, a ShiftedClock in tests.
CLOCK: web.AppKey[Clock] = web.AppKey("clock", Clock)
DB: web.AppKey[asyncpg.Pool] = web.AppKey("db", asyncpg.Pool)
REDIS: web.AppKey[Redis] = web.AppKey("redis", Redis)
QUERIES: web.AppKey[Queries] = web.AppKey("queries", Queries)
JWT_SECRET: web.AppKey[str] = web.AppKey("jwt_secret", str)
# Filled by the live-seat and checkout resources (typed loosely to avoid import cycles).
HOLDS: web.AppKey[Any] = web.AppKey("holds", object)
ROOMS: web.AppKey[Any] = web.AppKey("rooms", object)
DASHBOARD: web.AppKey[Any] = web.AppKey("dashboard", object)
CACHE: web.AppKey[Any] = web.AppKey("cache", object)
PAYMENTS: web.AppKey[Any] = web.AppKey("payments", object)
SOCKETS: web.AppKey[Any] = web.AppKey("sockets", object)

# Per-request storage, filled by the middlewares and the `endpoint` decorator.
USER: web.RequestKey[Any] = web.RequestKey("user", object)  # Identity | None
BODY: web.RequestKey[Any] = web.RequestKey("body", object)
QUERY: web.RequestKey[dict[str, Any]] = web.RequestKey("query", dict)
