"""Public catalog GETs served from the catalog cache (server/cache.py), named by path and query.

Only bounded query shapes are cached, so a flood of distinct query strings cannot churn the
cache: pages on a page boundary no deeper than cache.max_offset, date (not date-time) ranges,
no coordinates. Everything else is answered from PostgreSQL, uncached. The cache's byte budget
bounds what remains (free-text searches, ids).
"""
from __future__ import annotations

import functools
import re
from typing import Any, Mapping
from urllib.parse import urlencode

from aiohttp import web

from server import keys
from server.api.http import Handler

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNBOUNDED = ("lat", "lon")  # any float: one entry per point on Earth


def cacheable(query: Mapping[str, Any], max_offset: int) -> bool:
    """Whether a validated query has a bounded shape worth an entry in the cache."""
    if any(name in query for name in _UNBOUNDED):
        return False
    if any(not _DATE.fullmatch(str(query[name])) for name in ("from", "to") if name in query):
        return False
    offset, limit = query.get("offset", 0), query.get("limit")
    return offset <= max_offset and (not offset or (limit is not None and offset % limit == 0))


def request_name(request: web.Request) -> str:
    """The cache name of a request: its path and its validated query, in a canonical order."""
    query = request.get(keys.QUERY) or {}
    canonical = urlencode(sorted((k, ",".join(map(str, v)) if isinstance(v, list) else v)
                                 for k, v in query.items()))
    return f"{request.path}?{canonical}"


def cached(handler: Handler) -> Handler:
    """Serve a public GET from the catalog cache; store its 200 responses (place under @endpoint)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        max_offset = request.app[keys.SETTINGS].cache.max_offset
        if not cacheable(request.get(keys.QUERY) or {}, max_offset):
            return await handler(request)
        cache = request.app[keys.CACHE]
        body, key = await cache.lookup(request_name(request))
        if body is not None:
            return web.Response(body=body, content_type="application/json", headers={"X-Cache": "hit"})
        response = await handler(request)
        if key is not None and response.status == 200 and isinstance(response, web.Response) \
                and isinstance(response.body, bytes):
            stored = await cache.store(key, response.body)
            response.headers["X-Cache"] = "miss" if stored else "full"
        return response

    return wrapper
