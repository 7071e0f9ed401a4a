"""Seat maps: list and grid forms, validation, and replacement refused once tickets exist."""
from __future__ import annotations

from typing import Any


from server.domain.catalog import seatmap
from tests.support.catalog import movie, post, screening, sell, soon, venue


def seat(row: str, number: int, kind: str = "standard", **extra: Any) -> dict[str, Any]:
    return {"row": row, "number": number, "x": float(number), "y": float(ord(row[0]) - 65), "kind": kind, **extra}


async def put_seats(client: Any, admin: dict[str, Any], auditorium_id: int, body: Any, status: int = 200) -> Any:
    resp = await client.put(f"/api/auditoriums/{auditorium_id}/seats", json=body, headers=admin["headers"])
    data = await resp.json()
    assert resp.status == status, data
    return data


async def test_grid_form_becomes_seats(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin, grid=["SS_XS", "VV_VV", "WC_CW"])
    data = await (await client.get(f"/api/auditoriums/{built['auditorium']['id']}/seats")).json()
    seats = {f"{s['row']}{s['number']}": s for s in data["seats"]}
    assert len(seats) == 12 and data["width"] == 5 and data["height"] == 3
    assert (seats["A3"]["x"], seats["A3"]["y"], seats["A3"]["blocked"]) == (3, 0, True)
    assert seats["A4"]["x"] == 4 and seats["B4"]["kind"] == "vip"
    assert seats["C2"]["kind"] == "companion" and seats["C2"]["companion_of"] == seats["C1"]["id"]
    assert seats["C3"]["companion_of"] == seats["C4"]["id"] and seats["C4"]["kind"] == "wheelchair"
    assert seats["A1"]["companion_of"] is None
    assert data["auditorium"]["capacity"] == 11
    assert set(data["seats"][0]) == {"id", "row", "number", "x", "y", "kind", "blocked", "companion_of"}


async def test_list_form_replaces_layout(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    audi = built["auditorium"]["id"]
    layout = [seat("A", 1, "wheelchair"), seat("A", 2, "companion", companion_of={"row": "A", "number": 1}),
              seat("A", 3, "companion"), seat("A", 4, "wheelchair"), seat("B", 1, "vip", blocked=True)]
    data = await put_seats(client, admin, audi, layout)
    by = {f"{s['row']}{s['number']}": s for s in data["seats"]}
    assert by["A2"]["companion_of"] == by["A1"]["id"]
    assert by["A3"]["companion_of"] == by["A4"]["id"]  # inferred: the adjacent wheelchair place
    assert by["B1"]["blocked"] and len(data["seats"]) == 5
    wrapped = await put_seats(client, admin, audi, {"seats": [seat("C", 7)]})
    assert [(s["row"], s["number"]) for s in wrapped["seats"]] == [("C", 7)]
    cleared = await put_seats(client, admin, audi, [])
    assert cleared["seats"] == [] and cleared["width"] == 0


INVALID_SEAT_MAPS_CASES = [
    ([seat("A", 1), seat("A", 1)], "seats.1"),
    ([seat("A", 1), seat("A", 2, "companion")], "seats.1"),
    ([seat("A", 1, "wheelchair"), seat("A", 3, "companion", companion_of={"row": "A", "number": 1})],
     "seats.1.companion_of"),
    ([seat("A", 1, "wheelchair"), seat("B", 1, "companion", companion_of={"row": "A", "number": 1})],
     "seats.1.companion_of"),
    ([seat("A", 1), seat("A", 2, "companion", companion_of={"row": "A", "number": 1})], "seats.1.companion_of"),
    ([seat("A", 1, "wheelchair"), seat("A", 2, companion_of={"row": "A", "number": 1})], "seats.1.companion_of"),
    ({"rows": ["A"], "grid": ["SC"]}, "seats.1"),
    ({"rows": ["A", "B"], "grid": ["SS"]}, "rows"),
    ({"rows": ["A"]}, "grid"),
    ({"grid": ["S"], "seats": []}, "grid"),
    ({}, "seats"),
]


async def test_invalid_seat_maps(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    for body, field in INVALID_SEAT_MAPS_CASES:
        err = await put_seats(client, admin, built["auditorium"]["id"], body, 400)
        assert err["error"]["code"] == "invalid_seat_map" and err["error"]["field"] == field, body


SEAT_MAP_SCHEMA_ERRORS_CASES = [
    ([{**seat("A", 1), "x": -1}], "0.x"),
    ([{**seat("A", 1), "kind": "sofa"}], "0.kind"),
    ([{**seat("A", 1), "number": 0}], "0.number"),
    ([{**seat("A", 1), "colour": "red"}], "0"),
    ([{"row": "A", "number": 1}], "0"),
    ({"grid": ["SSZ"]}, "grid.0"),
    ({"seats": [seat("ROWTOOLONG", 1)]}, "seats.0.row"),
    ({"layout": []}, "layout"),
    ("A1", None),
]


async def test_seat_map_schema_errors(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    for body, field in SEAT_MAP_SCHEMA_ERRORS_CASES:
        err = await put_seats(client, admin, built["auditorium"]["id"], body, 400)
        assert err["error"]["code"] == "invalid" and err["error"].get("field") == field, body


async def test_at_most_5000_seats(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    audi = built["auditorium"]["id"]
    err = await put_seats(client, admin, audi, {"grid": ["S" * 100] * 51}, 400)
    assert err["error"]["code"] == "invalid_seat_map" and "5000" in err["error"]["message"]
    big = [seat(row, n) for row in "ABCDEFGHIJ" for n in range(1, 501)] + [seat("K", 1)]
    err = await put_seats(client, admin, audi, big, 400)
    assert err["error"]["field"] == "seats"
    exactly = await put_seats(client, admin, audi, {"grid": ["S" * 100] * 50})
    assert len(exactly["seats"]) == 5000 and exactly["seats"][-1]["row"] == "AX"


async def test_seats_in_auditorium_post_are_validated(client, make_user, pg) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    err = await post(client, admin, "/api/auditoriums", {
        "cinema_id": built["cinema"]["id"], "name": "Screen 9", "seats": [seat("A", 1), seat("A", 1)]}, 400)
    assert err["error"]["code"] == "invalid_seat_map"
    assert await pg.fetchval("SELECT count(*) FROM auditorium WHERE name = 'Screen 9'") == 0
    made = await post(client, admin, "/api/auditoriums", {
        "cinema_id": built["cinema"]["id"], "name": "Screen 9", "seats": [seat("A", 1), seat("A", 2)]})
    assert made["seat_count"] == 2


async def test_replacing_seats_refused_once_tickets_sold(client, make_user, pg) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin)
    audi = built["auditorium"]["id"]
    film = await movie(client, admin)
    shown = await screening(client, admin, audi, film["id"], soon())
    # A screening without tickets does not pin the layout.
    await put_seats(client, admin, audi, {"grid": ["SSS_SSS", "VVV_VVV", "WC__SSS"]})
    layout = await (await client.get(f"/api/auditoriums/{audi}/seats")).json()
    await sell(pg, shown["id"], layout["seats"][0]["id"], admin["id"])
    err = await put_seats(client, admin, audi, {"grid": ["SSSS"]}, 409)
    assert err["error"]["code"] == "has_tickets"
    assert len((await (await client.get(f"/api/auditoriums/{audi}/seats")).json())["seats"]) == 17


async def test_new_seat_kind_needs_prices_on_scheduled_screenings(client, make_user) -> None:
    admin = await make_user("admin")
    built = await venue(client, admin, grid=["SSSS"])
    film = await movie(client, admin)
    await screening(client, admin, built["auditorium"]["id"], film["id"], soon(), prices={"standard": 900})
    err = await put_seats(client, admin, built["auditorium"]["id"], {"grid": ["SSVV"]}, 409)
    assert err["error"]["code"] == "screening_missing_price" and err["error"]["field"] == "prices.vip"


async def test_unknown_auditorium_seats_put_is_404(client, make_user) -> None:
    admin = await make_user("admin")
    assert (await put_seats(client, admin, 424242, {"grid": ["SS"]}, 404))["error"]["code"] == "not_found"


def test_default_row_labels() -> None:
    assert seatmap.row_labels(28)[:3] == ["A", "B", "C"]
    assert seatmap.row_labels(28)[25:] == ["Z", "AA", "AB"]
    assert seatmap.from_grid(["S_S"])[1].number == 2
