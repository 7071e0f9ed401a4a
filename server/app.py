"""The application factory."""
from __future__ import annotations

import logging

from aiohttp import web

from server import keys
from server.clock import Clock, SystemClock
from server.config import ROOT, Settings, jwt_secret
from server.db import pool_context
from server.middleware import errors_middleware, identity_middleware, security_headers
from server.queries import load_queries
from server.redis_store import redis_context
from server.routes import setup_routes

log = logging.getLogger(__name__)


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """Build the app: settings, its clock (the system's unless a test gives one), resources, routes."""
    app = web.Application(
        middlewares=[errors_middleware, identity_middleware],
        client_max_size=settings.server.max_body_bytes,
    )
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or SystemClock()
    app[keys.JWT_SECRET] = jwt_secret(settings)
    app[keys.QUERIES] = load_queries(ROOT / "sql" / "queries")
    # Resources, each one cleanup context, in dependency order.
    app.cleanup_ctx.extend([pool_context, redis_context])
    _extend(app)
    app.on_response_prepare.append(security_headers)
    setup_routes(app)
    return app


def _extend(app: web.Application) -> None:
    """Feature resources (live rooms, checkout, pages) register their cleanup contexts here."""
    # --- feature resources ---
    from server.cache import cache_context

    # The catalog cache needs only the Redis client.
    app.cleanup_ctx.append(cache_context)
    from server.live.sweeper import holds_context

    # Holds first: the rooms, dashboard and checkout resources use app[keys.HOLDS].
    app.cleanup_ctx.append(holds_context)
    from server.live.ws import close_sockets, rooms_context

    # Rooms after holds (the hub uses app[keys.HOLDS]); sockets close with GOING_AWAY on shutdown.
    app.cleanup_ctx.append(rooms_context)
    app.on_shutdown.append(close_sockets)
    from server.live.dashboard_ws import dashboard_context

    # The staff feed after holds (it reads app[keys.HOLDS]); its sockets join app[keys.SOCKETS].
    app.cleanup_ctx.append(dashboard_context)
    from server.checkout.context import checkout_context

    # Checkout after holds: the payment provider, webhook deliveries and the reconciler.
    app.cleanup_ctx.append(checkout_context)
    from server.web_setup import setup_web

    setup_web(app)
