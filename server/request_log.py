"""Request ids and the access log: who asked for what, how it ended and how long it took.

Every request gets an id: the caller's `X-Request-Id` when it is a short token (a load balancer's,
so logs on both sides match), otherwise a new one. It is echoed in the response's X-Request-Id
and stamped on every log line made while serving the request (server/logs.py). The access log
(server.access_log) writes one line per request with method, path, status, bytes, duration and
client address: as structured fields in the JSON log format.
"""
from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from server.logs import REQUEST_ID
from server.middleware import error_response
from server.metrics import HTTP_REQUESTS, HTTP_SECONDS

HEADER = "X-Request-Id"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")
REQUEST_ID_KEY = web.RequestKey("request_id", str)
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def request_id_of(request: web.BaseRequest) -> str:
    """The id this request is served under (set by request_ids)."""
    return request.get(REQUEST_ID_KEY, "-")


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request its id, for every log line while serving it and for the response header;
    map what the handler raises to the JSON error shape (server/middleware.py, error_response).

    Both in one frame: a WebSocket's request lives as long as the socket, and every middleware
    that awaits the handler keeps a frame per open socket (issue 12's memory probe).
    """
    given = request.headers.get(HEADER, "")
    rid = given if _VALID.fullmatch(given) else secrets.token_hex(8)
    request[REQUEST_ID_KEY] = rid
    REQUEST_ID.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        try:
            response = await handler(request)
        except Exception as exc:
            mapped = error_response(request, exc)
            if mapped is None:
                raise
            response = mapped
        status = response.status
    except web.HTTPException as exc:
        exc.headers[HEADER] = rid
        status = exc.status
        raise
    finally:
        _count(request, status, time.perf_counter() - started)
    if not response.prepared:
        response.headers[HEADER] = rid
    return response


def _count(request: web.Request, status: int, seconds: float) -> None:
    # The route's pattern, never the raw path: a label per distinct URL would let anyone grow the metrics.
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    HTTP_REQUESTS.labels(request.method if request.method in _METHODS else "other", route, str(status)).inc()
    HTTP_SECONDS.labels(route).observe(seconds)


class AccessLogger(AbstractAccessLogger):
    """One line per finished request, with structured fields for the JSON format."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        fields: dict[str, Any] = {
            "request_id": request_id_of(request), "method": request.method, "path": request.path,
            "status": response.status, "bytes": response.body_length, "duration_ms": round(time * 1000, 2),
            "remote": request.remote,
        }
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000,
                         extra=fields)


def access_logger() -> logging.Logger:
    """The logger the access log writes to (its own name, so it can be routed or silenced)."""
    return logging.getLogger("houseful.access")
