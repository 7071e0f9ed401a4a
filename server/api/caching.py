"""Public catalog GETs served from the catalog cache (server/cache.py), named by path and query."""
from __future__ import annotations

import functools
from urllib.parse import urlencode

from aiohttp import web

from server import keys
from server.api.http import Handler


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
        cache = request.app[keys.CACHE]
        body, key = await cache.lookup(request_name(request))
        if body is not None:
            return web.Response(body=body, content_type="application/json", headers={"X-Cache": "hit"})
        response = await handler(request)
        if key is not None and response.status == 200 and isinstance(response, web.Response) \
                and isinstance(response.body, bytes):
            await cache.store(key, response.body)
            response.headers["X-Cache"] = "miss"
        return response

    return wrapper
