"""Genres and movies: admin CRUD, search, genre filter, showing-between, a movie's page."""
from __future__ import annotations


from tests.support.catalog import movie, post, screening, soon, venue

FULL = {
    "title": "Blade of the North", "director": "Ana Ruiz", "cast": ["Ida Lund", "Tom Hale"],
    "synopsis": "A long winter.", "runtime_minutes": 128, "certificate": "15", "score": 7.9,
    "release_date": "2024-11-01", "poster_url": "https://img.example/blade.jpg",
}


async def test_genre_crud(client, make_user) -> None:
    admin = await make_user("admin")
    drama = await post(client, admin, "/api/genres", {"name": "Drama"})
    dup = await post(client, admin, "/api/genres", {"name": "drama"}, 409)
    assert dup["error"]["code"] == "duplicate_name"
    resp = await client.patch(f"/api/genres/{drama['id']}", json={"name": "Dramas"}, headers=admin["headers"])
    assert (await resp.json())["name"] == "Dramas"
    assert (await (await client.get(f"/api/genres/{drama['id']}")).json())["movie_count"] == 0
    listed = await (await client.get("/api/genres")).json()
    assert [g["name"] for g in listed["genres"]] == ["Dramas"]
    assert (await client.delete(f"/api/genres/{drama['id']}", headers=admin["headers"])).status == 204
    assert (await client.delete(f"/api/genres/{drama['id']}", headers=admin["headers"])).status == 404
    assert (await client.patch("/api/genres/99", json={"name": "X"}, headers=admin["headers"])).status == 404
    assert (await post(client, admin, "/api/genres", {"name": "x" * 61}, 400))["error"]["field"] == "name"


async def test_movie_crud(client, make_user, pg) -> None:
    admin = await make_user("admin")
    thriller = await post(client, admin, "/api/genres", {"name": "Thriller"})
    drama = await post(client, admin, "/api/genres", {"name": "Drama"})
    made = await post(client, admin, "/api/movies", {**FULL, "genre_ids": [thriller["id"], drama["id"]]})
    assert {k: made[k] for k in FULL} == FULL
    assert [g["name"] for g in made["genres"]] == ["Drama", "Thriller"]
    path = f"/api/movies/{made['id']}"
    resp = await client.patch(path, json={"score": None, "genre_ids": [drama["id"]], "cast": []},
                              headers=admin["headers"])
    changed = await resp.json()
    assert resp.status == 200 and changed["score"] is None and changed["cast"] == []
    assert [g["name"] for g in changed["genres"]] == ["Drama"] and changed["release_date"] == "2024-11-01"
    page = await (await client.get(path)).json()
    assert page["title"] == FULL["title"] and page["cinemas"] == []
    assert (await client.delete(path, headers=admin["headers"])).status == 204
    assert (await client.get(path)).status == 404
    assert await pg.fetchval("SELECT count(*) FROM user_action WHERE action LIKE 'movie.%'") == 3


BAD_MOVIE_BODIES_CASES = [
    ({"score": 10.5}, "score"), ({"score": -1}, "score"), ({"runtime_minutes": 0}, "runtime_minutes"),
    ({"runtime_minutes": 1001}, "runtime_minutes"), ({"runtime_minutes": "90"}, "runtime_minutes"),
    ({"release_date": "2024-02-30"}, "release_date"), ({"release_date": "soon"}, "release_date"),
    ({"poster_url": "javascript:alert(1)"}, "poster_url"), ({"certificate": "X" * 11}, "certificate"),
    ({"cast": "Ida Lund"}, "cast"), ({"genre_ids": [0]}, "genre_ids.0"), ({"rating": 3}, "rating"),
    ({"title": ""}, "title"),
]


async def test_bad_movie_bodies(client, make_user) -> None:
    admin = await make_user("admin")
    for change, field in BAD_MOVIE_BODIES_CASES:
        err = await post(client, admin, "/api/movies", {**FULL, **change}, 400)
        assert err["error"]["code"] == "invalid" and err["error"]["field"] == field, change


async def test_unknown_genre_is_404(client, make_user, pg) -> None:
    admin = await make_user("admin")
    err = await post(client, admin, "/api/movies", {**FULL, "genre_ids": [12345]}, 404)
    assert err["error"]["field"] == "genre_ids"
    assert await pg.fetchval("SELECT count(*) FROM movie") == 0  # the insert was rolled back


async def test_search_is_case_insensitive_and_paged(client, make_user) -> None:
    admin = await make_user("admin")
    for title in ("The Night Train", "NIGHTFALL", "Morning Glory", "100% Night"):
        await movie(client, admin, title)
    data = await (await client.get("/api/movies?q=night")).json()
    assert [m["title"] for m in data["movies"]] == ["100% Night", "NIGHTFALL", "The Night Train"]
    assert data["total"] == 3
    assert [m["title"] for m in (await (await client.get("/api/movies?q=%25")).json())["movies"]] == ["100% Night"]
    page = await (await client.get("/api/movies?q=NIGHT&limit=1&offset=1")).json()
    assert [m["title"] for m in page["movies"]] == ["NIGHTFALL"] and page["total"] == 3
    assert (await (await client.get("/api/movies?q=zzz")).json()) == {"movies": [], "total": 0, "limit": 50,
                                                                      "offset": 0}


async def test_genre_filter_by_id_or_name(client, make_user) -> None:
    admin = await make_user("admin")
    horror = await post(client, admin, "/api/genres", {"name": "Horror"})
    comedy = await post(client, admin, "/api/genres", {"name": "Comedy"})
    await movie(client, admin, "Scream Lane", genre_ids=[horror["id"]])
    await movie(client, admin, "Laugh Riot", genre_ids=[comedy["id"]])
    await movie(client, admin, "Scary Funny", genre_ids=[horror["id"], comedy["id"]])
    by_id = await (await client.get(f"/api/movies?genre={horror['id']}")).json()
    assert [m["title"] for m in by_id["movies"]] == ["Scary Funny", "Scream Lane"]
    by_name = await (await client.get("/api/movies?genre=comedy")).json()
    assert [m["title"] for m in by_name["movies"]] == ["Laugh Riot", "Scary Funny"]
    assert (await (await client.get("/api/movies?genre=Western")).json())["movies"] == []
    both = await (await client.get("/api/movies?genre=Horror&q=scream")).json()
    assert [m["title"] for m in both["movies"]] == ["Scream Lane"]


async def test_showing_between(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    audi = built["auditorium"]["id"]
    tomorrow = await movie(client, admin, "Tomorrow Film")
    next_week = await movie(client, admin, "Next Week Film")
    await movie(client, admin, "Never Shown")
    await screening(client, admin, audi, tomorrow["id"], soon(1, 19))
    await screening(client, admin, audi, next_week["id"], soon(7, 19))
    day1, day2, day7 = (soon(d).date().isoformat() for d in (1, 2, 7))

    async def titles(query: str) -> list[str]:
        resp = await client.get("/api/movies?" + query)
        assert resp.status == 200
        return [m["title"] for m in (await resp.json())["movies"]]

    assert await titles(f"from={day1}&to={day1}") == ["Tomorrow Film"]
    assert await titles(f"from={day2}") == ["Next Week Film"]
    assert await titles(f"to={day2}") == ["Tomorrow Film"]
    assert await titles(f"from={day1}&to={day7}") == ["Next Week Film", "Tomorrow Film"]
    assert len(await titles("")) == 3
    # A cancelled screening is not "showing".
    listed = await (await client.get(f"/api/screenings?movie_id={tomorrow['id']}")).json()
    await client.post(f"/api/screenings/{listed['screenings'][0]['id']}/cancel", headers=admin["headers"])
    assert await titles(f"from={day1}&to={day1}") == []


BAD_MOVIE_QUERIES_CASES = [
    ("from=2024-13-01", "from"), ("to=yesterday", "to"), ("from=2024-05-02&to=2024-05-01", "from"),
    ("limit=500", "limit"), ("limit=-3", "limit"), ("offset=x", "offset"), ("q=", "q"), ("q=" + "a" * 101, "q"),
    ("sort=title", "sort"), ("from=99999-01-01", "from"),
]


async def test_bad_movie_queries(client) -> None:
    for query, field in BAD_MOVIE_QUERIES_CASES:
        resp = await client.get("/api/movies?" + query)
        assert resp.status == 400, query
        assert (await resp.json())["error"]["field"] == field, query


async def test_movie_page_groups_screenings_by_cinema(client, make_user) -> None:
    admin = await make_user("admin")
    leeds = await venue(client, admin, "Leeds")
    london = await venue(client, admin, "London")
    film = await movie(client, admin, "Grouped")
    await screening(client, admin, leeds["auditorium"]["id"], film["id"], soon(1, 12))
    await screening(client, admin, leeds["auditorium"]["id"], film["id"], soon(1, 18))
    await screening(client, admin, london["auditorium"]["id"], film["id"], soon(2, 18))
    page = await (await client.get(f"/api/movies/{film['id']}")).json()
    assert [(c["cinema"]["city"], len(c["screenings"])) for c in page["cinemas"]] == [("Leeds", 2), ("London", 1)]
    first = page["cinemas"][0]["screenings"][0]
    assert first["starts_at"].endswith("+00:00") and first["prices"]["standard"] == 1000


async def test_movie_with_screenings_cannot_be_deleted(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    film = await movie(client, admin)
    await screening(client, admin, built["auditorium"]["id"], film["id"], soon())
    resp = await client.delete(f"/api/movies/{film['id']}", headers=admin["headers"])
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "in_use"
