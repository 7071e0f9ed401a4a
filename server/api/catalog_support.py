"""What every catalog handler shares: running an admin write in one audited transaction."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web

from server import keys

T = TypeVar("T")


async def admin_write(request: web.Request, action: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run a domain write (which records its audit entry) in one transaction, then drop the catalog cache."""
    user = request[keys.USER]
    async with request.app[keys.DB].acquire() as conn:
        async with conn.transaction():
            result = await action(conn, *args, actor_id=user.user_id, ip=request.remote, **kwargs)
    # Only after the commit: a reader that refills the cache in between reads the new data.
    await request.app[keys.CACHE].invalidate()
    return result


def path_id(request: web.Request) -> int:
    """The {id} of the path (routes allow 1-18 digits only)."""
    return int(request.match_info["id"])
