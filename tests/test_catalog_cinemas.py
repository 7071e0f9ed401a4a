"""Cinemas and auditoriums: admin CRUD, city and nearest-cinema reads, bad input."""
from __future__ import annotations

import datetime as dt

from tests.support.catalog import CITIES, LEEDS, movie, post, screening, soon, venue


async def test_cinema_crud_is_audited(client, make_user, pg) -> None:
    admin = await make_user("admin")
    cinema = await post(client, admin, "/api/cinemas", {
        "name": "Houseful Leeds", "city": "Leeds", "address": "1 Briggate", "latitude": 53.8,
        "longitude": -1.55, "rating": 4.2})
    assert cinema["name"] == "Houseful Leeds" and cinema["rating"] == 4.2 and cinema["auditoriums"] == []
    path = f"/api/cinemas/{cinema['id']}"
    resp = await client.patch(path, json={"rating": None, "address": "2 Briggate"}, headers=admin["headers"])
    assert resp.status == 200
    changed = await resp.json()
    assert changed["rating"] is None and changed["address"] == "2 Briggate" and changed["city"] == "Leeds"
    assert (await (await client.get(path)).json())["address"] == "2 Briggate"
    assert (await client.delete(path, headers=admin["headers"])).status == 204
    assert (await client.get(path)).status == 404
    actions = [r["action"] for r in await pg.fetch("SELECT action FROM user_action WHERE user_id = $1 ORDER BY id",
                                                  admin["id"])]
    assert actions == ["cinema.create", "cinema.update", "cinema.delete"]


async def test_duplicate_cinema_is_409_and_not_audited(client, make_user, pg) -> None:
    admin = await make_user("admin")
    body = {"name": "Odeon", "city": "York", "latitude": 53.96, "longitude": -1.08}
    await post(client, admin, "/api/cinemas", body)
    err = await post(client, admin, "/api/cinemas", body, 409)
    assert err["error"]["code"] == "duplicate_name" and err["error"]["field"] == "name"
    assert await pg.fetchval("SELECT count(*) FROM user_action WHERE action = 'cinema.create'") == 1
    # Same name in another city is a different cinema.
    await post(client, admin, "/api/cinemas", {**body, "city": "Hull"})


async def test_cinema_with_auditoriums_cannot_be_deleted(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    resp = await client.delete(f"/api/cinemas/{built['cinema']['id']}", headers=admin["headers"])
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "in_use"


BAD_CINEMA_BODIES_CASES = [
    ({"name": "A", "city": "B", "latitude": 91, "longitude": 0}, "latitude"),
    ({"name": "A", "city": "B", "latitude": 0, "longitude": -180.5}, "longitude"),
    ({"name": "A", "city": "B", "latitude": 0, "longitude": 0, "rating": 5.5}, "rating"),
    ({"name": "A", "city": "B", "latitude": "north", "longitude": 0}, "latitude"),
    ({"name": "", "city": "B", "latitude": 0, "longitude": 0}, "name"),
    ({"name": "A\u0000", "city": "B", "latitude": 0, "longitude": 0}, "name"),
    ({"city": "B", "latitude": 0, "longitude": 0}, "name"),
    ({"name": "A", "city": "B", "latitude": 0, "longitude": 0, "seats": 3}, "seats"),
]


async def test_bad_cinema_bodies(client, make_user) -> None:
    admin = await make_user("admin")
    for body, field in BAD_CINEMA_BODIES_CASES:
        err = await post(client, admin, "/api/cinemas", body, 400)
        assert err["error"]["code"] == "invalid" and err["error"]["field"] == field, body


async def test_malformed_and_empty_bodies(client, make_user) -> None:
    admin = await make_user("admin")
    for raw in (b"{", b"", b"[1, 2", b"\xff\xfe"):
        resp = await client.post("/api/cinemas", data=raw, headers={**admin["headers"],
                                                                     "Content-Type": "application/json"})
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_json"
    resp = await client.patch("/api/cinemas/1", json={}, headers=admin["headers"])
    assert resp.status == 400


async def test_unknown_ids_are_404(client, make_user) -> None:
    admin = await make_user("admin")
    for method, path, body in [
        ("GET", "/api/cinemas/999", None), ("PATCH", "/api/cinemas/999", {"city": "X"}),
        ("DELETE", "/api/cinemas/999", None), ("GET", "/api/cinemas/999/movies", None),
        ("GET", "/api/cinemas/999999999999999999", None), ("GET", "/api/auditoriums/5", None),
        ("PATCH", "/api/auditoriums/5", {"name": "X"}), ("DELETE", "/api/auditoriums/5", None),
        ("GET", "/api/auditoriums/5/seats", None),
        ("POST", "/api/auditoriums", {"cinema_id": 77, "name": "Screen"}),
    ]:
        resp = await client.request(method, path, json=body, headers=admin["headers"])
        assert resp.status == 404, (method, path)
        assert (await resp.json())["error"]["code"] == "not_found"
    assert (await client.get("/api/cinemas/1234567890123456789")).status == 404


async def test_cinemas_by_city_ignore_case(client, make_user) -> None:
    admin = await make_user("admin")
    for city in ("London", "Manchester", "Edinburgh"):
        await venue(client, admin, city)
    data = await (await client.get("/api/cinemas?city=manchester")).json()
    assert [c["city"] for c in data["cinemas"]] == ["Manchester"]
    assert "distance_km" not in data["cinemas"][0]
    data = await (await client.get("/api/cinemas?limit=2")).json()
    assert [c["city"] for c in data["cinemas"]] == ["Edinburgh", "London"]


async def test_nearest_cinemas_from_leeds(client, make_user) -> None:
    admin = await make_user("admin")
    for city in ("London", "Edinburgh", "Manchester"):
        await venue(client, admin, city)
    resp = await client.get(f"/api/cinemas?lat={LEEDS[0]}&lon={LEEDS[1]}")
    found = (await resp.json())["cinemas"]
    assert [c["city"] for c in found] == ["Manchester", "Edinburgh", "London"]
    km = {c["city"]: c["distance_km"] for c in found}
    assert 55 < km["Manchester"] < 62
    assert 250 < km["Edinburgh"] < 270
    assert 265 < km["London"] < 280
    one = await (await client.get(f"/api/cinemas?lat={LEEDS[0]}&lon={LEEDS[1]}&limit=1")).json()
    assert [c["city"] for c in one["cinemas"]] == ["Manchester"]
    assert CITIES  # the coordinates used above


BAD_CINEMA_QUERIES_CASES = [
    ("lat=53.8", "lon"), ("lon=-1.5", "lat"), ("lat=91&lon=0", "lat"), ("lat=nan&lon=0", "lat"),
    ("lat=north&lon=0", "lat"), ("limit=201", "limit"), ("limit=0", "limit"), ("limit=1e9", "limit"),
    ("offset=-1", "offset"), ("town=Leeds", "town"), ("city=a&city=b", "city"),
]


async def test_bad_cinema_queries(client) -> None:
    for query, field in BAD_CINEMA_QUERIES_CASES:
        resp = await client.get("/api/cinemas?" + query)
        assert resp.status == 400, query
        assert (await resp.json())["error"]["field"] == field, query


async def test_cinema_movies_lists_whats_on(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    film = await movie(client, admin, "Moonrise")
    other = await movie(client, admin, "Not Here")
    first = await screening(client, admin, built["auditorium"]["id"], film["id"], soon(1, 14))
    await screening(client, admin, built["auditorium"]["id"], film["id"], soon(1, 18))
    elsewhere = await venue(client, admin, "London")
    await screening(client, admin, elsewhere["auditorium"]["id"], other["id"], soon(1, 18))
    data = await (await client.get(f"/api/cinemas/{built['cinema']['id']}/movies")).json()
    assert [m["title"] for m in data["movies"]] == ["Moonrise"]
    assert [s["id"] for s in data["movies"][0]["screenings"]][0] == first["id"]
    assert len(data["movies"][0]["screenings"]) == 2
    day = soon(1).date().isoformat()
    later = (soon(3)).date().isoformat()
    assert (await (await client.get(f"/api/cinemas/{built['cinema']['id']}/movies?from={later}")).json())[
        "movies"] == []
    assert len((await (await client.get(
        f"/api/cinemas/{built['cinema']['id']}/movies?from={day}&to={day}")).json())["movies"]) == 1
    assert (await client.get(f"/api/cinemas/{built['cinema']['id']}/movies?from=tomorrow")).status == 400


async def test_auditorium_crud(client, make_user, pg) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    cinema_id = built["cinema"]["id"]
    audi = await post(client, admin, "/api/auditoriums", {"cinema_id": cinema_id, "name": "Screen 2",
                                                          "category": "imax", "best_x": 3, "best_y": 1})
    assert audi["category"] == "imax" and audi["seat_count"] == 0
    dup = await post(client, admin, "/api/auditoriums", {"cinema_id": cinema_id, "name": "Screen 2"}, 409)
    assert dup["error"]["code"] == "duplicate_name"
    resp = await client.patch(f"/api/auditoriums/{audi['id']}", json={"name": "Screen 3", "best_x": None},
                              headers=admin["headers"])
    changed = await resp.json()
    assert changed["name"] == "Screen 3" and changed["best_x"] is None and changed["category"] == "imax"
    detail = await (await client.get(f"/api/cinemas/{cinema_id}")).json()
    assert [a["name"] for a in detail["auditoriums"]] == ["Screen 1", "Screen 3"]
    assert detail["auditoriums"][0]["capacity"] == 17
    bad = await client.patch(f"/api/auditoriums/{audi['id']}", json={"category": "huge"}, headers=admin["headers"])
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "category"
    assert (await client.delete(f"/api/auditoriums/{audi['id']}", headers=admin["headers"])).status == 204
    assert await pg.fetchval("SELECT count(*) FROM auditorium WHERE cinema_id = $1", cinema_id) == 1


async def test_auditorium_with_screenings_cannot_be_deleted(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    film = await movie(client, admin)
    await screening(client, admin, built["auditorium"]["id"], film["id"], soon())
    resp = await client.delete(f"/api/auditoriums/{built['auditorium']['id']}", headers=admin["headers"])
    assert resp.status == 409


async def test_a_cinema_lives_in_its_own_time_zone(make_client, make_user) -> None:
    client = await make_client(catalog={"default_time_zone": "Europe/Dublin"})
    admin = await make_user("admin")
    cork = await post(client, admin, "/api/cinemas", {"name": "A", "city": "Cork", "latitude": 51.9, "longitude": -8.5})
    assert cork["time_zone"] == "Europe/Dublin"  # catalog.default_time_zone
    body = {"name": "B", "city": "New York", "latitude": 40.7, "longitude": -74.0, "time_zone": "America/New_York"}
    new_york = await post(client, admin, "/api/cinemas", body)
    assert new_york["time_zone"] == "America/New_York"
    listed = (await (await client.get("/api/cinemas")).json())["cinemas"]
    assert {c["id"]: c["time_zone"] for c in listed} == {cork["id"]: "Europe/Dublin", new_york["id"]: "America/New_York"}
    for bad in ("Mars/Olympus_Mons", "localtime", "", "Europe/London\u0000", "../../etc/passwd"):
        err = await post(client, admin, "/api/cinemas", {**body, "name": "C", "time_zone": bad}, 400)
        assert (err["error"]["code"], err["error"]["field"]) == ("invalid", "time_zone"), bad
    path = f"/api/cinemas/{new_york['id']}"
    resp = await client.patch(path, json={"time_zone": "Asia/Tokyo"}, headers=admin["headers"])
    assert resp.status == 200 and (await resp.json())["time_zone"] == "Asia/Tokyo"
    resp = await client.patch(path, json={"time_zone": "Nowhere/Else"}, headers=admin["headers"])
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "time_zone"
    assert (await (await client.get(path)).json())["time_zone"] == "Asia/Tokyo"


async def test_a_bare_date_is_the_cinemas_local_day(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin, "New York")
    cinema_id = built["cinema"]["id"]
    await client.patch(f"/api/cinemas/{cinema_id}", json={"time_zone": "America/New_York"}, headers=admin["headers"])
    film = await movie(client, admin)
    # 23:30 in New York on 10 July 2031 is 03:30 UTC on the 11th: it belongs to the 10th there.
    late = await screening(client, admin, built["auditorium"]["id"], film["id"],
                           dt.datetime(2031, 7, 11, 3, 30, tzinfo=dt.timezone.utc))
    for day, expected in (("2031-07-10", [late["id"]]), ("2031-07-11", [])):
        got = await (await client.get(f"/api/cinemas/{cinema_id}/movies", params={"from": day, "to": day})).json()
        assert [s["id"] for m in got["movies"] for s in m["screenings"]] == expected, day
        listed = await (await client.get("/api/screenings", params={"cinema_id": cinema_id, "from": day,
                                                                     "to": day})).json()
        assert [s["id"] for s in listed["screenings"]] == expected, day
    assert late["cinema"]["time_zone"] == "America/New_York"
    assert late["starts_at"] == "2031-07-11T03:30:00+00:00"  # the API keeps instants with an offset
