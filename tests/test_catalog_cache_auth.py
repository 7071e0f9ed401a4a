"""The catalog cache (hit, invalidation, live booked map) and 401/403 on every admin endpoint."""
from __future__ import annotations

from tests.support.catalog import movie, post, screening, sell, soon, venue

ADMIN_ENDPOINTS = [
    ("POST", "/api/cinemas"), ("PATCH", "/api/cinemas/1"), ("DELETE", "/api/cinemas/1"),
    ("POST", "/api/auditoriums"), ("PATCH", "/api/auditoriums/1"), ("DELETE", "/api/auditoriums/1"),
    ("PUT", "/api/auditoriums/1/seats"),
    ("POST", "/api/genres"), ("PATCH", "/api/genres/1"), ("DELETE", "/api/genres/1"),
    ("POST", "/api/movies"), ("PATCH", "/api/movies/1"), ("DELETE", "/api/movies/1"),
    ("POST", "/api/screenings"), ("PATCH", "/api/screenings/1"), ("DELETE", "/api/screenings/1"),
    ("POST", "/api/screenings/1/cancel"),
]


async def test_every_admin_endpoint_needs_an_admin(client, make_user, make_screening, pg) -> None:
    await make_screening()
    customer, staff = await make_user("customer"), await make_user("staff")
    for method, path in ADMIN_ENDPOINTS:
        anonymous = await client.request(method, path, json={"name": "X"})
        assert anonymous.status == 401, (method, path)
        assert (await anonymous.json())["error"]["code"] == "unauthorized"
        for user in (customer, staff):
            resp = await client.request(method, path, json={"name": "X"}, headers=user["headers"])
            assert resp.status == 403, (method, path, user["role"])
            assert (await resp.json())["error"]["code"] == "forbidden"
    assert await pg.fetchval("SELECT status FROM screening WHERE id = 1") == "scheduled"
    assert await pg.fetchval("SELECT count(*) FROM cinema") == 1


async def test_the_admin_list_covers_every_catalog_write(client) -> None:
    import re

    writes = set()
    for route in client.app.router.routes():
        spec = getattr(route.handler, "spec", None)
        if spec and spec.tag == "catalog" and spec.role:
            path = re.sub(r"\{id(:[^}]*)?\}", "1", route.resource.canonical)
            writes.add((route.method, path))
            assert spec.role == "admin"
    assert writes == set(ADMIN_ENDPOINTS)


async def test_public_reads_need_no_login(client, make_screening) -> None:
    built = await make_screening()
    sid, cid, mid, aid = built["screening_id"], built["cinema_id"], built["movie_id"], built["auditorium_id"]
    for path in ("/api/movies", f"/api/movies/{mid}", "/api/genres", "/api/cinemas", f"/api/cinemas/{cid}",
                 f"/api/cinemas/{cid}/movies", "/api/screenings", f"/api/screenings/{sid}",
                 f"/api/screenings/{sid}/seats", f"/api/screenings/{sid}/booked", f"/api/auditoriums/{aid}",
                 f"/api/auditoriums/{aid}/seats"):
        resp = await client.get(path)
        assert resp.status == 200, path


async def test_cache_hit_then_invalidated_by_an_admin_write(client, make_user, pg, redis, settings) -> None:
    admin = await make_user("admin")
    await movie(client, admin, "Original Title")
    first = await client.get("/api/movies?q=title")
    assert first.headers["X-Cache"] == "miss"
    # Change the database behind the API's back: a cached read does not see it.
    await pg.execute("UPDATE movie SET title = 'Sneaky Title'")
    second = await client.get("/api/movies?q=title")
    assert second.headers["X-Cache"] == "hit"
    assert [m["title"] for m in (await second.json())["movies"]] == ["Original Title"]
    # The same query spelled differently shares the entry.
    assert (await client.get("/api/movies?limit=50&q=title")).headers["X-Cache"] == "hit"
    keys = [k.decode() async for k in redis.scan_iter(match=settings.redis.key_prefix + "{catalog}:*")]
    assert keys and all(k.startswith(settings.redis.key_prefix) for k in keys)
    await post(client, admin, "/api/genres", {"name": "Mystery"})  # any admin write
    third = await client.get("/api/movies?q=title")
    assert third.headers["X-Cache"] == "miss"
    assert [m["title"] for m in (await third.json())["movies"]] == ["Sneaky Title"]


async def test_failed_admin_write_still_serves_cache(client, make_user) -> None:
    admin = await make_user("admin")
    await client.get("/api/genres")
    await post(client, admin, "/api/genres", {"name": "x" * 100}, 400)
    assert (await client.get("/api/genres")).headers["X-Cache"] == "hit"


async def test_booked_map_is_never_cached(client, make_user, pg) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    film = await movie(client, admin)
    shown = await screening(client, admin, built["auditorium"]["id"], film["id"], soon())
    path = f"/api/screenings/{shown['id']}/booked"
    first = await client.get(path)
    assert "X-Cache" not in first.headers and (await first.json())["seat_ids"] == []
    seats = await (await client.get(f"/api/screenings/{shown['id']}/seats")).json()
    await sell(pg, shown["id"], seats["seats"][0]["id"], admin["id"])
    assert (await (await client.get(path)).json())["seat_ids"] == [seats["seats"][0]["id"]]


async def test_errors_are_not_cached(client) -> None:
    assert (await client.get("/api/movies/5")).status == 404
    again = await client.get("/api/movies/5")
    assert again.status == 404 and "X-Cache" not in again.headers


async def test_cache_can_be_switched_off(make_client) -> None:
    client = await make_client(cache={"catalog_seconds": 0})
    await client.get("/api/genres")
    assert "X-Cache" not in (await client.get("/api/genres")).headers
