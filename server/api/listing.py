"""Listings carry live availability: overlaid on the (possibly cached) catalog answer.

The catalog cache keeps what changes only with an admin's edit; how full a screening is changes
with every hold, so it is read fresh for each answer (server/live/availability.py: one pipelined
Redis read, plus one PostgreSQL query for screenings not warm in Redis) and written into each
listed scheduled screening as `availability` {free, capacity, level} and `houseful`.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Iterable

import orjson
from aiohttp import web

from server import keys
from server.api.http import Handler, json_response
from server.keyspace import KeySpace
from server.live.availability import availability

Finder = Callable[[Any], Iterable[dict[str, Any]]]


def screenings_of(data: Any) -> Iterable[dict[str, Any]]:
    """GET /api/screenings: {"screenings": [...]}."""
    return data.get("screenings", [])


def cinema_screenings(data: Any) -> Iterable[dict[str, Any]]:
    """GET /api/cinemas/{id}/movies: {"movies": [{"screenings": [...]}]}."""
    return (s for m in data.get("movies", []) for s in m.get("screenings", []))


def movie_screenings(data: Any) -> Iterable[dict[str, Any]]:
    """GET /api/movies/{id}: {"cinemas": [{"screenings": [...]}]}."""
    return (s for c in data.get("cinemas", []) for s in c.get("screenings", []))


def with_availability(find: Finder) -> Callable[[Handler], Handler]:
    """Add live availability to the screenings `find` picks out of a 200 answer (place above @cached)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            response = await handler(request)
            if response.status != 200 or not isinstance(response, web.Response) \
                    or not isinstance(response.body, bytes):
                return response
            data = orjson.loads(response.body)
            listed = [s for s in find(data) if s.get("status", "scheduled") == "scheduled"]
            app = request.app
            found = await availability(app[keys.REDIS], KeySpace(app[keys.SETTINGS].redis.key_prefix),
                                       app[keys.DB], app[keys.QUERIES].availability, [s["id"] for s in listed])
            for screening in listed:
                figures = found.get(screening["id"])
                if figures is not None:
                    screening["availability"] = figures
                    screening["houseful"] = figures["level"] == "houseful"
            headers = {k: v for k, v in response.headers.items() if k == "X-Cache"}
            return json_response(data, headers=headers)

        return wrapper

    return wrap
