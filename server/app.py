"""The application factory."""
from __future__ import annotations

from aiohttp import web

from server import keys
from server.clock import Clock, SystemClock
from server.config import Settings, jwt_secret
from server.connections import ConnectionCap
from server.domain.tokens import AccessTokens
from server.forwarded import forwarded_client
from server.middleware import connection_limits, identity_middleware, security_headers
from server.queries import load_queries
from server.request_log import request_ids
from server.resources import RESOURCES
from server.routes import setup_routes
from server.web_setup import setup_web
from server.ws.handlers import close_sockets


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """Build the app: settings, its clock (the system's unless a test gives one), resources, routes."""
    app = web.Application(
        middlewares=[forwarded_client, request_ids, connection_limits, identity_middleware],
        client_max_size=settings.server.max_body_bytes,
        # aiohttp's keep-alive timer is armed when a connection opens and after each response: a
        # connection without a complete request by then (idle, trickling headers, an unfinished
        # WebSocket handshake) is closed.
        handler_args={"keepalive_timeout": settings.server.idle_timeout_seconds},
    )
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or SystemClock()
    app[keys.JWT_SECRET] = jwt_secret(settings)
    app[keys.TOKENS] = AccessTokens(app[keys.JWT_SECRET])
    app[keys.QUERIES] = load_queries()
    app[keys.SOCKETS] = set()
    app[keys.CONNECTIONS] = ConnectionCap(settings.server)
    app.cleanup_ctx.extend(RESOURCES)
    # Before the resources close: every socket gets GOING_AWAY so clients reconnect elsewhere.
    app.on_shutdown.append(close_sockets)
    app.on_response_prepare.append(security_headers)
    setup_web(app)
    setup_routes(app)
    return app


class HousefulRunner(web.AppRunner):
    """aiohttp's AppRunner, with the app's per-IP connection cap attached to the server it makes."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        self.app[keys.CONNECTIONS].attach(server)
        return server
