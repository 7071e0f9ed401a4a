"""Every object shared through the aiohttp application, as typed AppKeys declared in one place.

This module names the app's shared objects, so it imports their types: it sits above the
domain and the services (the edge reads these keys; server/resources.py fills them).
"""
from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from server.bus import EventBus
from server.cache import CatalogCache
from server.checkout.payments import PaymentProvider
from server.checkout.state import Checkout
from server.clock import Clock
from server.config import Settings
from server.connections import ConnectionCap
from server.domain.revocation import Revocations
from server.domain.tokens import AccessTokens, Identity
from server.live.budget import UserBudget
from server.live.dashboard import DashboardHub
from server.live.admission import Gate
from server.live.busy import BusyServers
from server.live.holds import HoldStore
from server.live.line import Line
from server.live.lines import LineHub
from server.live.rooms import RoomHub
from server.live.waitlist import Waitlist
from server.messaging.sender import Messenger
from server.queries import Queries
from server.services.catalog import CatalogAdmin

SETTINGS = web.AppKey("settings", Settings)
# The one wall clock (server/clock.py): SystemClock in production, a ShiftedClock in tests.
CLOCK = web.AppKey("clock", Clock)
DB = web.AppKey("db", asyncpg.Pool)
REDIS = web.AppKey("redis", Redis)
# The worker's one pub/sub connection (per shard) that every live feature listens on (server/bus.py).
BUS = web.AppKey("bus", EventBus)
QUERIES = web.AppKey("queries", Queries)
JWT_SECRET = web.AppKey("jwt_secret", str)
# Verified access tokens, remembered until their expiry (no JWT decode per request or upgrade).
TOKENS = web.AppKey("tokens", AccessTokens)
CACHE = web.AppKey("cache", CatalogCache)
HOLDS = web.AppKey("holds", HoldStore)
ROOMS = web.AppKey("rooms", RoomHub)
# This worker's sockets by user: closed on logout, password or role change, token expiry.
REVOCATIONS = web.AppKey("revocations", Revocations)
# Each user's socket commands over all sockets and workers (websocket.user_commands_per_second).
BUDGET = web.AppKey("budget", UserBudget)
WAITLIST = web.AppKey("waitlist", Waitlist)
# The waiting room (docs/waiting-room.md): the line in Redis, the hold path's gate, this worker's waiting sockets.
LINE = web.AppKey("line", Line)
GATE = web.AppKey("gate", Gate)
LINES = web.AppKey("lines", LineHub)
BUSY = web.AppKey("busy", BusyServers)  # every worker's loop lag: lines slow down while one is over the limit
DASHBOARD = web.AppKey("dashboard", DashboardHub)
PAYMENTS: web.AppKey[PaymentProvider] = web.AppKey("payments")
CHECKOUT = web.AppKey("checkout", Checkout)
CATALOG = web.AppKey("catalog", CatalogAdmin)
# Messages to customers: renderer, push keys, the settings and stores sending needs.
MESSENGER = web.AppKey("messenger", Messenger)
# Every open WebSocket (rooms, lines and the staff feed), closed with GOING_AWAY on shutdown. A plain
# set, not a WeakSet: each handler takes its socket out in a `finally`, and a weak reference per
# waiting socket cost ~0.1 KB (issue 12's memory probe).
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
# Open connections per client IP in this worker (server.connections_per_ip).
CONNECTIONS = web.AppKey("connections", ConnectionCap)

# Per-request storage, filled by the middlewares and the `endpoint` decorator.
USER: web.RequestKey[Identity | None] = web.RequestKey("user")
BODY: web.RequestKey[Any] = web.RequestKey("body")
QUERY: web.RequestKey[dict[str, Any]] = web.RequestKey("query")
