"""Admin edits reach the live seat maps: prices, cancellation and a replaced seat map."""
from __future__ import annotations

from tests.wsclient import connect


async def test_price_change_reaches_open_seat_maps(client, make_user, make_screening) -> None:
    admin, buyer = await make_user("admin"), await make_user("customer")
    s = await make_screening(rows=2, per_row=6)
    sid = s["screening_id"]
    room = await connect(client, sid, token=buyer["token"])
    assert (await room.ok("snapshot"))["prices"]["standard"] == 1000

    resp = await client.patch(f"/api/screenings/{sid}", json={"prices": {"standard": 1325}},
                              headers=admin["headers"])
    assert resp.status == 200, await resp.text()

    await room.event(lambda e: e["type"] == "reloaded")
    assert (await room.ok("snapshot"))["prices"]["standard"] == 1325
    await room.close()


async def test_cancelled_screening_refuses_holds_and_tells_the_room(client, make_user, make_screening) -> None:
    admin, buyer = await make_user("admin"), await make_user("customer")
    s = await make_screening(rows=2, per_row=6)
    sid, seats = s["screening_id"], s["seats"]
    room = await connect(client, sid, token=buyer["token"])
    await room.ok("hold", seats=[seats["A1"], seats["A2"]])

    resp = await client.post(f"/api/screenings/{sid}/cancel", headers=admin["headers"])
    assert resp.status == 200, await resp.text()

    await room.event(lambda e: e["type"] == "reloaded")
    snap = await room.ok("snapshot")
    assert snap["closed"] is True
    assert (await room.error("hold", seats=[seats["B1"], seats["B2"]]))["code"] == "screening_closed"
    await room.close()


async def test_replaced_seat_map_drops_holds_on_vanished_seats(client, make_user, make_screening, pg) -> None:
    admin, buyer = await make_user("admin"), await make_user("customer")
    s = await make_screening(rows=2, per_row=4)
    sid, seats = s["screening_id"], s["seats"]
    room = await connect(client, sid, token=buyer["token"])
    await room.ok("hold", seats=[seats["B3"], seats["B4"]])

    # Row B disappears; row A grows to six seats.
    resp = await client.put(f"/api/auditoriums/{s['auditorium_id']}/seats",
                            json={"rows": ["A"], "grid": ["SSSSSS"]}, headers=admin["headers"])
    assert resp.status == 200, await resp.text()

    reloaded = await room.event(lambda e: e["type"] == "reloaded")
    assert sorted(reloaded["seats"]) == sorted([seats["B3"], seats["B4"]])
    snap = await room.ok("snapshot")
    assert snap["held"] == [] and snap["mine"] == []
    assert snap["counts"]["capacity"] == 6
    new_ids = [r["id"] for r in await pg.fetch(
        "SELECT id FROM seat WHERE auditorium_id = $1 ORDER BY number", s["auditorium_id"])]
    held = await room.ok("hold", seats=new_ids[:2])
    assert held["seats"] == new_ids[:2]
    await room.close()
