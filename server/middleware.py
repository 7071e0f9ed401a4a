"""Middlewares: errors as JSON (error_response), connection limits, who is calling, CSRF for cookie writes, security headers."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Awaitable

from aiohttp import web

from server import keys
from server.api.http import Handler, error_body, json_response
from server.domain.tokens import ACCESS_COOKIE, Identity
from server.errors import RETRY_AFTER_SECONDS, DomainError, is_store_outage
from server.origin import origin_allowed
from server.web_setup import render_page

log = logging.getLogger(__name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    429: "rate_limited",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/ws/")) or "text/html" not in request.headers.get("Accept", "")


def error_response(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    """The JSON error shape for a failed request (domain errors, HTTP errors, the unexpected);
    None for an HTTP exception aiohttp should send as it is (a redirect, a browser's error page).

    Called by the outermost middleware that awaits the handler (request_ids, server/request_log.py):
    one frame for both around a request, so no more stay on the stack of every open WebSocket.
    """
    if isinstance(exc, DomainError):
        retry_after = getattr(exc, "retry_after", None)  # rate limits and outages say when to come back
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return json_response({"error": exc.to_dict()}, exc.status, headers)
    if isinstance(exc, web.HTTPException):
        if exc.status == 404 and not _wants_json(request):
            # A person's browser: the styled page with a way back (`what` from server/pages.py).
            return render_page("not_found.html", request, {"what": getattr(exc, "what", None)}, status=404)
        if exc.status < 400 or not _wants_json(request):
            return None
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason if exc.status != 413 else "request body too large"
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return json_response(error_body(code, message), exc.status, headers)
    if is_store_outage(exc):
        return _unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return json_response(error_body("internal", "internal server error"), 500)


def _unavailable(request: web.Request, exc: Exception) -> web.Response:
    """PostgreSQL or Redis is down or restarting: not a bug, try again shortly (503 + Retry-After).

    The pools reconnect by themselves, so the same request works once the store is back.
    """
    log.warning("store unavailable on %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if not _wants_json(request):
        return web.Response(text="Houseful is briefly unavailable; please try again in a moment.",
                            status=503, headers=headers)
    return json_response(error_body("unavailable", "a data store is briefly unavailable; try again shortly"),
                         503, headers)


def _refuse(status: int, code: str, message: str) -> web.Response:
    response = json_response(error_body(code, message), status, {"Connection": "close"})
    response.force_close()
    return response


# Tail calls: connection_limits and identity_middleware are plain functions that return the
# handler's awaitable instead of awaiting it, so neither leaves a coroutine frame on the stack
# of a request. That matters for WebSockets, whose request lives as long as the socket: two
# frames fewer per waiting socket (issue 12's memory probe, docs/waiting-room.md).


async def _done(response: web.StreamResponse) -> web.StreamResponse:
    return response


@web.middleware
def connection_limits(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """429 on a connection over its IP's cap; the body read within server.body_timeout_seconds (408)."""
    if request.protocol in request.app[keys.CONNECTIONS].refused:
        return _done(_refuse(429, "too_many_connections", "too many open connections from your address"))
    if request.body_exists and not request.content_type.startswith("multipart/"):
        return _with_body(request, handler)
    return handler(request)


async def _with_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        # read() keeps the bytes: the handler's own read (json, urlencoded form) gets them at once.
        await asyncio.wait_for(request.read(), request.app[keys.SETTINGS].server.body_timeout_seconds)
    except asyncio.TimeoutError:
        return _refuse(408, "request_timeout", "the request body did not arrive in time")
    return await handler(request)


@web.middleware
def identity_middleware(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """Put the caller's Identity (or None) in request[keys.USER]; check Origin on writes.

    A write carrying another site's Origin is refused whoever calls (login and register too, so
    a foreign page cannot log a browser into the attacker's account); a write authenticated by
    cookie must also carry a matching Origin or Referer.
    """
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("Origin")
        # "null" is an opaque origin (sandboxed frame, file://): never one of ours.
        if origin is not None and (origin == "null" or not origin_allowed(request, origin)):
            return _done(_cross_site())
    tokens, now = request.app[keys.TOKENS], request.app[keys.CLOCK].time()
    user: Identity | None = None
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        user = tokens.read(auth[7:].strip(), now=now)
    elif ACCESS_COOKIE in request.cookies:
        found = tokens.read(request.cookies[ACCESS_COOKIE], now=now)
        if found is not None:
            user = dataclasses.replace(found, via_cookie=True)
            if request.method not in SAFE_METHODS:
                origin = request.headers.get("Origin") or request.headers.get("Referer", "")
                if "://" not in origin or not origin_allowed(request, origin):
                    return _done(_cross_site())
    request[keys.USER] = user
    return handler(request)


def _cross_site() -> web.Response:
    return json_response(error_body("csrf", "cross-site request refused: Origin does not match"), 403)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: CSP without inline script, no framing, no sniffing, same-origin referrers,
    and a Server header without the software's version.

    Not on a WebSocket's 101 Switching Protocols (beyond the Server header): no document follows
    it, so these headers say nothing there (a socket's own checks are its Origin and its token);
    thousands of upgrades in a rush skip them.
    """
    headers = response.headers
    # aiohttp fills in "Python/3.x aiohttp/3.x" after this hook unless a value is set: name no version.
    headers["Server"] = "Houseful"
    if response.status == 101:
        return
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
