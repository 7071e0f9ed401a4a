"""Listings carry live availability: free seats, almost full, houseful — cheaply.

Every screening list (GET /api/screenings, a cinema's films, a film's page) marks each scheduled
screening with `availability` {free, capacity, level} and `houseful`, read fresh for every answer
(the catalog cache never freezes it): one pipelined Redis read for all screenings, and PostgreSQL
for those not warm in Redis, which are never warmed by a listing.
"""
from __future__ import annotations

from typing import Any

from server import keys
from server.keyspace import KeySpace
from tests.support.catalog import sell
from tests.support.checkout import hold


def _listed(data: dict[str, Any], screening_id: int) -> dict[str, Any]:
    found = [s for s in data.get("screenings", [])]
    found += [s for m in data.get("movies", []) for s in m["screenings"]]
    found += [s for c in data.get("cinemas", []) for s in c["screenings"]]
    return next(s for s in found if s["id"] == screening_id)


async def _all_listings(client: Any, screening: dict[str, Any]) -> list[dict[str, Any]]:
    sid = screening["screening_id"]
    paths = [f"/api/screenings?cinema_id={screening['cinema_id']}", f"/api/cinemas/{screening['cinema_id']}/movies",
             f"/api/movies/{screening['movie_id']}"]
    out = []
    for path in paths:
        resp = await client.get(path)
        assert resp.status == 200, await resp.text()
        out.append(_listed(await resp.json(), sid))
    return out


async def test_listings_show_free_seats_almost_full_and_houseful(client: Any, make_user: Any, make_screening: Any,
                                                                 pg: Any, redis: Any) -> None:
    screening = await make_screening(rows=2, per_row=5)  # 10 seats
    sid, seats = screening["screening_id"], screening["seats"]
    alice, bob = await make_user(), await make_user()
    await sell(pg, sid, seats["A1"], alice["id"])

    # Not warm in Redis: PostgreSQL's live tickets count, and the listing warms nothing.
    for listed in await _all_listings(client, screening):
        assert listed["availability"] == {"free": 9, "capacity": 10, "level": "available"}
        assert listed["houseful"] is False
    space = KeySpace(client.app[keys.SETTINGS].redis.key_prefix)
    assert not await redis.exists(space.screening(sid, "meta"))

    # Warm: holds count as taken, live (the catalog cache of these lists is not stale).
    await hold(client, alice, sid, [seats[s] for s in ("A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4")])
    for listed in await _all_listings(client, screening):
        assert listed["availability"] == {"free": 1, "capacity": 10, "level": "almost_full"}
        assert listed["houseful"] is False

    await hold(client, bob, sid, [seats["B5"]])
    for listed in await _all_listings(client, screening):
        assert listed["availability"] == {"free": 0, "capacity": 10, "level": "houseful"}
        assert listed["houseful"] is True


async def test_a_listing_reads_redis_once_whatever_its_length(client: Any, make_screening: Any) -> None:
    first = await make_screening(rows=1, per_row=4)
    await make_screening(rows=1, per_row=4)
    await make_screening(rows=1, per_row=4)
    redis = client.app[keys.REDIS]
    pipelines, scripts = [], []
    real_pipeline, real_evalsha = redis.pipeline, redis.evalsha

    def counting_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipelines.append(args)
        return real_pipeline(*args, **kwargs)

    async def counting_evalsha(*args: Any, **kwargs: Any) -> Any:
        scripts.append(args)
        return await real_evalsha(*args, **kwargs)

    redis.pipeline, redis.evalsha = counting_pipeline, counting_evalsha
    try:
        resp = await client.get("/api/screenings?limit=200")
        listed = (await resp.json())["screenings"]
    finally:
        redis.pipeline, redis.evalsha = real_pipeline, real_evalsha
    assert len(listed) >= 3 and all("availability" in s for s in listed)
    assert first["screening_id"] in {s["id"] for s in listed}
    # One round trip for all, no script, no warm-up (the catalog cache's own store script aside).
    assert len(pipelines) == 1 and [s for s in scripts if "{catalog}" not in str(s[2])] == []
