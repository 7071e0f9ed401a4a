"""Screenings: scheduling rules (overlap, prices), moves and deletes refused with tickets, cancel, reads."""
from __future__ import annotations

import datetime as dt


from server.domain.catalog.screenings import cancel_screening
from tests.support.catalog import PRICES, iso, movie, post, screening, sell, soon, venue


async def setup(client, make_user, grid=None):
    admin = await make_user("admin")
    built = await venue(client, admin, grid=grid)
    film = await movie(client, admin, runtime=100)
    return admin, built["auditorium"]["id"], film["id"], built["cinema"]["id"]


async def test_schedule_with_default_end_and_settings_orphan_rule(make_client, make_user) -> None:
    client = await make_client(holds={"orphan_rule": False})
    admin, audi, film, cinema = await setup(client, make_user)
    start = soon(1, 18)
    made = await screening(client, admin, audi, film, start)
    assert made["starts_at"] == start.isoformat()
    assert made["ends_at"] == (start + dt.timedelta(minutes=120)).isoformat()  # runtime + 20 cleaning
    assert made["orphan_rule"] is False and made["status"] == "scheduled" and made["capacity"] == 17
    assert made["cinema"]["id"] == cinema and made["movie"]["id"] == film and made["auditorium"]["id"] == audi
    explicit = await post(client, admin, "/api/screenings", {
        "auditorium_id": audi, "movie_id": film, "starts_at": iso(soon(2, 18)),
        "ends_at": iso(soon(2, 21)), "prices": PRICES, "orphan_rule": True})
    assert explicit["ends_at"] == soon(2, 21).isoformat() and explicit["orphan_rule"] is True


async def test_overlap_is_409_but_back_to_back_is_fine(client, make_user) -> None:
    admin, audi, film, _ = await setup(client, make_user)
    first = await screening(client, admin, audi, film, soon(1, 18))
    err = await screening(client, admin, audi, film, soon(1, 19), status=409)
    assert err["error"]["code"] == "screening_overlap"
    await screening(client, admin, audi, film, soon(1, 20))  # starts as the first one's cleaning ends
    # Cancelling frees the slot.
    await client.post(f"/api/screenings/{first['id']}/cancel", headers=admin["headers"])
    await screening(client, admin, audi, film, soon(1, 18, ) - dt.timedelta(minutes=30))


async def test_prices_must_cover_every_seat_kind(client, make_user) -> None:
    admin, audi, film, _ = await setup(client, make_user)
    err = await screening(client, admin, audi, film, soon(), prices={"standard": 900, "wheelchair": 900,
                                                                     "companion": 900}, status=400)
    assert err["error"] == {"code": "missing_price", "message": "No price for vip seats.", "field": "prices.vip"}
    for prices, field in [({**PRICES, "vip": -1}, "prices.vip"), ({**PRICES, "vip": 9.5}, "prices.vip"),
                          ({**PRICES, "sofa": 100}, "prices"), ({}, "prices"), ({**PRICES, "vip": "12"}, "prices.vip")]:
        bad = await screening(client, admin, audi, film, soon(), prices=prices, status=400)
        assert bad["error"]["field"] == field, prices
    free = await screening(client, admin, audi, film, soon(), prices={**PRICES, "standard": 0})
    assert free["prices"]["standard"] == 0


BAD_SCREENING_BODIES_CASES = [
    ({"starts_at": "2030-01-01T18:00:00"}, 400, "starts_at"),
    ({"starts_at": "tomorrow"}, 400, "starts_at"),
    ({"ends_at": "2000-01-01T00:00:00Z"}, 400, "ends_at"),
    ({"movie_id": 999}, 404, "movie_id"),
    ({"auditorium_id": 999}, 404, "auditorium_id"),
    ({"auditorium_id": "1"}, 400, "auditorium_id"),
    ({"auditorium_id": 10**19}, 400, "auditorium_id"),
    ({"status": "cancelled"}, 400, "status"),
    ({"orphan_rule": "yes"}, 400, "orphan_rule"),
]


async def test_bad_screening_bodies(client, make_user) -> None:
    admin, audi, film, _ = await setup(client, make_user)
    for change, status, field in BAD_SCREENING_BODIES_CASES:
        body = {"auditorium_id": audi, "movie_id": film, "starts_at": iso(soon()), "prices": PRICES, **change}
        err = await post(client, admin, "/api/screenings", body, status)
        assert err["error"]["field"] == field, change


async def test_empty_auditorium_cannot_be_scheduled(client, make_user) -> None:
    admin, _, film, cinema = await setup(client, make_user)
    empty = await post(client, admin, "/api/auditoriums", {"cinema_id": cinema, "name": "Empty"})
    err = await screening(client, admin, empty["id"], film, soon(), status=409)
    assert err["error"]["code"] == "auditorium_empty"


async def test_move_and_delete_refused_with_tickets(client, make_user, pg) -> None:
    admin, audi, film, _ = await setup(client, make_user)
    shown = await screening(client, admin, audi, film, soon(1, 18))
    path = f"/api/screenings/{shown['id']}"
    moved = await client.patch(path, json={"starts_at": iso(soon(1, 12))}, headers=admin["headers"])
    assert (await moved.json())["ends_at"] == soon(1, 14).isoformat()
    seats = await (await client.get(path + "/seats")).json()
    await sell(pg, shown["id"], seats["seats"][0]["id"], admin["id"])
    other = await movie(client, admin, "Another Film")
    for change in ({"starts_at": iso(soon(1, 15))}, {"ends_at": iso(soon(1, 16))}, {"movie_id": other["id"]}):
        resp = await client.patch(path, json=change, headers=admin["headers"])
        assert resp.status == 409 and (await resp.json())["error"]["code"] == "has_tickets"
    # An edit form resending the unchanged time and movie is not a move.
    same = await client.patch(path, json={"starts_at": iso(soon(1, 12)), "movie_id": film}, headers=admin["headers"])
    assert same.status == 200
    resp = await client.delete(path, headers=admin["headers"])
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "has_tickets"
    repriced = await client.patch(path, json={"prices": {**PRICES, "vip": 2000}}, headers=admin["headers"])
    assert (await repriced.json())["prices"]["vip"] == 2000
    cancelled = await client.post(path + "/cancel", headers=admin["headers"])
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
    again = await client.post(path + "/cancel", headers=admin["headers"])
    assert again.status == 200
    frozen = await client.patch(path, json={"orphan_rule": False}, headers=admin["headers"])
    assert frozen.status == 409 and (await frozen.json())["error"]["code"] == "screening_cancelled"
    assert await pg.fetchval("SELECT count(*) FROM user_action WHERE action = 'screening.cancel'") == 1


async def test_move_into_overlap_and_delete(client, make_user, pg) -> None:
    admin, audi, film, _ = await setup(client, make_user)
    await screening(client, admin, audi, film, soon(1, 18))
    late = await screening(client, admin, audi, film, soon(1, 21))
    path = f"/api/screenings/{late['id']}"
    resp = await client.patch(path, json={"starts_at": iso(soon(1, 19))}, headers=admin["headers"])
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "screening_overlap"
    assert (await client.patch(path, json={}, headers=admin["headers"])).status == 400
    assert (await client.delete(path, headers=admin["headers"])).status == 204
    assert (await client.get(path)).status == 404
    assert (await client.delete(path, headers=admin["headers"])).status == 404
    assert (await client.post(path + "/cancel", headers=admin["headers"])).status == 404


async def test_cancel_screening_domain_function(client, make_user) -> None:
    from server import keys

    admin, audi, film, _ = await setup(client, make_user)
    shown = await screening(client, admin, audi, film, soon())
    async with client.app[keys.DB].acquire() as conn, conn.transaction():
        row = await cancel_screening(conn, client.app[keys.QUERIES], shown["id"], admin["id"])
    assert row["id"] == shown["id"] and row["status"] == "cancelled" and row["prices"] == PRICES


async def test_list_screenings_filters(client, make_user) -> None:
    admin, audi, film, cinema = await setup(client, make_user)
    other_film = await movie(client, admin, "Other")
    london = await venue(client, admin, "London")
    a = await screening(client, admin, audi, film, soon(1, 12))
    b = await screening(client, admin, audi, other_film["id"], soon(1, 18))
    c = await screening(client, admin, london["auditorium"]["id"], film, soon(3, 18))

    async def ids(query: str) -> list[int]:
        resp = await client.get("/api/screenings?" + query)
        assert resp.status == 200, await resp.text()
        return [s["id"] for s in (await resp.json())["screenings"]]

    assert await ids("") == [a["id"], b["id"], c["id"]]
    assert await ids(f"cinema_id={cinema}&movie_id={film}") == [a["id"]]
    assert await ids(f"movie_id={film}") == [a["id"], c["id"]]
    assert await ids(f"from={soon(2).date()}") == [c["id"]]
    assert await ids(f"to={soon(1).date()}") == [a["id"], b["id"]]
    assert await ids("limit=1&offset=1") == [b["id"]]
    await client.post(f"/api/screenings/{b['id']}/cancel", headers=admin["headers"])
    assert await ids("") == [a["id"], c["id"]]
    assert await ids("status=cancelled") == [b["id"]]
    assert await ids("status=any") == [a["id"], b["id"], c["id"]]
    for bad in ("cinema_id=abc", "cinema_id=0", "status=gone", "limit=1000", "to=31-12-2030"):
        assert (await client.get("/api/screenings?" + bad)).status == 400, bad


async def test_screening_reads_and_booked_map(client, make_user, pg) -> None:
    admin, audi, film, _ = await setup(client, make_user)
    shown = await screening(client, admin, audi, film, soon())
    path = f"/api/screenings/{shown['id']}"
    detail = await (await client.get(path)).json()
    assert detail["prices"] == PRICES and detail["capacity"] == 17
    seats = await (await client.get(path + "/seats")).json()
    assert seats["prices"] == PRICES and seats["screening_id"] == shown["id"] and len(seats["seats"]) == 17
    assert seats["width"] == 7 and seats["height"] == 3
    booked = await (await client.get(path + "/booked")).json()
    assert booked == {"screening_id": shown["id"], "seat_ids": [],
                      "counts": {"booked": 0, "capacity": 17, "free": 17}}
    sold = [seats["seats"][3]["id"], seats["seats"][1]["id"]]
    for seat_id in sold:
        await sell(pg, shown["id"], seat_id, admin["id"])
    booked = await (await client.get(path + "/booked")).json()
    assert booked["seat_ids"] == sorted(sold) and booked["counts"] == {"booked": 2, "capacity": 17, "free": 15}
    for sub in ("", "/seats", "/booked"):
        assert (await client.get(f"/api/screenings/77777{sub}")).status == 404


async def test_integral_floats_are_accepted_as_ids(client, make_user) -> None:
    admin, audi, film, cinema = await setup(client, make_user)
    made = await post(client, admin, "/api/auditoriums", {"cinema_id": float(cinema), "name": "Float"})
    assert made["cinema_id"] == cinema
    shown = await screening(client, admin, float(audi), float(film), soon())
    resp = await client.patch(f"/api/screenings/{shown['id']}", json={"movie_id": float(film)},
                              headers=admin["headers"])
    assert resp.status == 200


async def test_screening_lists_page_past_200_with_a_total_and_search(client, make_user, make_screening, pg) -> None:
    from tests.factories import more_screenings

    first = await make_screening(rows=1, per_row=4)
    later = await more_screenings(pg, first["screening_id"], 250)
    await pg.execute("UPDATE movie SET title = 'Orbit of Ash' WHERE id = $1", first["movie_id"])
    other = await make_screening(rows=1, per_row=4)  # another cinema, film "Test Movie"
    await pg.execute("UPDATE screening SET status = 'cancelled' WHERE id = $1", later[-1])

    page = await (await client.get("/api/screenings?status=any&limit=200&offset=200")).json()
    assert page["total"] == 252 and page["offset"] == 200 and len(page["screenings"]) == 52
    assert page["screenings"][-1]["id"] == later[-1] and page["screenings"][-1]["status"] == "cancelled"
    beyond = await (await client.get("/api/screenings?status=any&limit=200&offset=400")).json()
    assert beyond["screenings"] == [] and beyond["total"] == 252

    found = await (await client.get("/api/screenings?q=orbit%20of&limit=5")).json()
    assert found["total"] == 250 and {s["movie"]["title"] for s in found["screenings"]} == {"Orbit of Ash"}
    by_cinema = await (await client.get(f"/api/screenings?q=test%20cinema%202&cinema_id={other['cinema_id']}")).json()
    assert [s["id"] for s in by_cinema["screenings"]] == [other["screening_id"]] and by_cinema["total"] == 1
