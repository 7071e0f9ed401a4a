"""A flood of distinct catalog queries cannot fill Redis: the cache stays under cache.max_bytes and
holds and checkout keep working on a Redis that is nearly full (maxmemory, noeviction)."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support.checkout import new_order, pay, wait_status
from tests.support.stores import PrivateRedis

CACHE_BYTES = 256 * 1024
HEADROOM = 3 * 512 * 1024  # what Redis may still take: the flood's answers add up to more


@pytest.fixture
async def tight_redis(private_redis: PrivateRedis) -> PrivateRedis:
    """A private Redis with only HEADROOM bytes left before it refuses writes (as a full one would)."""
    client = Redis.from_url(private_redis.url)
    used = (await client.info("memory"))["used_memory"]
    await client.config_set("maxmemory-policy", "noeviction")
    await client.config_set("maxmemory", str(used + HEADROOM))
    await client.aclose()
    return private_redis


async def _flood(client: Any, paths: list[str]) -> tuple[int, dict[str | None, int]]:
    """GET every path, 16 at a time; (bytes answered, count per X-Cache value)."""
    total, seen = 0, {}  # type: ignore[var-annotated]
    queue = list(paths)

    async def one() -> None:
        nonlocal total
        while queue:
            resp = await client.get(queue.pop())
            assert resp.status == 200, await resp.text()
            total += len(await resp.read())
            seen[resp.headers.get("X-Cache")] = seen.get(resp.headers.get("X-Cache"), 0) + 1

    await asyncio.gather(*(one() for _ in range(16)))
    return total, seen


async def test_a_query_flood_leaves_holds_and_checkout_working(tight_redis, make_client, make_screening,
                                                               make_user, settings) -> None:
    client = await make_client(redis={"url": tight_redis.url}, cache={"max_bytes": CACHE_BYTES})
    built = [await make_screening() for _ in range(6)]
    first = dt.date(2031, 1, 1)
    paths = [f"/api/screenings?to={first + dt.timedelta(days=i)}" for i in range(700)]
    paths += [f"/api/screenings?offset={i}&limit=50" for i in range(1, 60)]  # off a page boundary
    answered, seen = await _flood(client, paths)
    assert answered > HEADROOM  # without the budget this flood alone would have filled Redis
    assert seen.get("full", 0) > 0 and seen.get("miss", 0) > 0
    assert seen.get(None) == 58  # offsets off a page boundary are answered, never cached

    redis = Redis.from_url(tight_redis.url)
    entries = [key async for key in redis.scan_iter(match=settings.redis.key_prefix + "{catalog}:*")]
    usage = sum([await redis.memory_usage(key) or 0 for key in entries])
    await redis.aclose()
    assert usage <= CACHE_BYTES

    buyer = await make_user()
    seats = list(built[0]["seats"].values())[:2]
    created = await new_order(client, buyer, built[0]["screening_id"], seats)
    assert (await pay(client, created)).status in (302, 303)
    assert (await wait_status(client, buyer, created["order_key"]))["status"] == "paid"


async def test_unbounded_query_shapes_are_never_cached(client, make_screening) -> None:
    await make_screening()
    for path in ("/api/cinemas?lat=51.5&lon=-0.1", "/api/screenings?from=2031-01-01T10:00:00Z",
                 "/api/movies?offset=5000", "/api/movies?offset=3&limit=2"):
        for _ in range(2):
            resp = await client.get(path)
            assert resp.status == 200, (path, await resp.text())
            assert "X-Cache" not in resp.headers, path
    assert (await client.get("/api/movies?offset=4&limit=2")).headers["X-Cache"] == "miss"
    assert (await client.get("/api/movies?limit=2&offset=4")).headers["X-Cache"] == "hit"
