"""The Origin rule: a browser may act from this site (same host) or from server.allowed_origins.

Used by the CSRF check on cookie-authenticated writes and by the WebSocket upgrades.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from server import keys
from server.errors import Forbidden


def origin_allowed(request: web.Request, origin: str) -> bool:
    """Same host as the request, or one of server.allowed_origins."""
    origin = origin.rstrip("/")
    if origin in request.app[keys.SETTINGS].server.allowed_origins:
        return True
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc == request.host


def check_socket_origin(request: web.Request, what: str) -> None:
    """Refuse (403) a WebSocket upgrade a browser makes from another site.

    Browsers always send Origin; other clients may leave it out (they carry no ambient cookies).
    """
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(request, origin):
        raise Forbidden(f"this origin may not open {what}")
