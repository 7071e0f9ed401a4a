"""What every catalog handler shares: admin writes through the catalog service, the path's id."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

import asyncpg
from aiohttp import web

from server import keys
from server.queries import Queries

T = TypeVar("T")


async def admin_write(request: web.Request, action: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run a domain write as the caller, in one audited transaction (see services.catalog)."""
    return await request.app[keys.CATALOG].write(action, *args, **actor(request), **kwargs)


def actor(request: web.Request) -> dict[str, Any]:
    """Who is writing, as the audit trail records it: actor_id and ip."""
    return {"actor_id": request[keys.USER].user_id, "ip": request.remote}


def db_and_sql(request: web.Request) -> tuple[asyncpg.Pool, Queries]:
    """What a catalog read takes first: the pool and the app's queries (f(*db_and_sql(request), ...))."""
    return request.app[keys.DB], request.app[keys.QUERIES]


def path_id(request: web.Request) -> int:
    """The {id} of the path (routes allow 1-18 digits only)."""
    return int(request.match_info["id"])
