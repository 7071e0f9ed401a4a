"""The staff dashboard: occupancy figures over REST and the live `/ws/dashboard` feed."""
from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import Any, Callable
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest
from aiohttp import WSMsgType

from server import keys
from server.domain.days import DayRange
from server.live.dashboard import Viewer
from tests.support.clocks import at_any_hour

WAIT = 5.0  # seconds any expected frame may take (a tick is far shorter)


async def day_of(pg: asyncpg.Connection, screening_id: int) -> str:
    """The local date a screening starts on at its cinema, as the API takes it."""
    return (await pg.fetchval(
        "SELECT (s.starts_at AT TIME ZONE c.time_zone)::date FROM screening s"
        " JOIN auditorium a ON a.id = s.auditorium_id JOIN cinema c ON c.id = a.cinema_id WHERE s.id = $1",
        screening_id)).isoformat()


async def sell(pg: asyncpg.Connection, user_id: int, screening_id: int, seats: dict[int, int]) -> None:
    """A paid order with one live ticket per seat (seat id -> price), written straight to PostgreSQL."""
    order_id = await pg.fetchval(
        "INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids,"
        " idempotency_key, captured, expires_at) VALUES ($1, $2, $3, 'paid', $4, 'GBP', $5, $6, true,"
        " now() + interval '10 minutes') RETURNING id",
        "".join(secrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(10)),
        user_id, screening_id, sum(seats.values()), list(seats), secrets.token_hex(8),
    )
    await pg.executemany(
        "INSERT INTO ticket (order_id, screening_id, seat_id, price) VALUES ($1, $2, $3, $4)",
        [(order_id, screening_id, seat, price) for seat, price in seats.items()],
    )


async def frame(ws: aiohttp.ClientWebSocketResponse, kind: str | None = None) -> dict[str, Any]:
    """The next JSON frame (of that type), waiting at most WAIT seconds."""
    async with asyncio.timeout(WAIT):
        while True:
            data = await ws.receive_json()
            if kind is None or data["type"] == kind:
                return data


async def update_until(
    ws: aiohttp.ClientWebSocketResponse, screening_id: int, check: Callable[[dict[str, Any]], bool],
    seen: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Read updates until the screening's row satisfies check; every update frame goes to seen."""
    async with asyncio.timeout(WAIT):
        while True:
            data = await ws.receive_json()
            if data["type"] != "update":
                continue
            if seen is not None:
                seen.append(data)
            for row in data["screenings"]:
                if row["screening_id"] == screening_id and check(row):
                    return row


async def open_feed(client: Any, user: dict[str, Any], **query: Any) -> tuple[Any, dict[str, Any]]:
    """A staff socket and its first occupancy list."""
    ws = await client.ws_connect("/ws/dashboard", params=query, headers=user["headers"])
    hello = await frame(ws)
    assert hello["type"] == "hello" and hello["role"] == user["role"]
    return ws, await frame(ws, "occupancy")


async def test_rest_figures_with_cinema_and_date_filters(client, pg, make_user, make_screening) -> None:
    staff, buyer = await make_user("staff"), await make_user("customer")
    big = await make_screening(rows=2, per_row=5, blocked=[("B", 3)], kinds={("A", 5): "vip"})
    other = await make_screening(rows=1, per_row=4)
    later = await make_screening(rows=1, per_row=3, starts_in=dt.timedelta(days=3))
    holds = client.app[keys.HOLDS]
    sid = big["screening_id"]
    await sell(pg, buyer["id"], sid, {big["seats"]["A1"]: 1000, big["seats"]["A5"]: 1500})
    await holds.rebuild_sold(sid)
    await holds.hold(sid, f"u{buyer['id']}", [big["seats"]["B1"], big["seats"]["B2"]])
    day = await day_of(pg, sid)

    resp = await client.get("/api/dashboard/occupancy", params={"date": day}, headers=staff["headers"])
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    rows = {row["screening_id"]: row for row in body["screenings"]}
    assert set(rows) == {sid, other["screening_id"]}
    row = rows[sid]
    assert (row["capacity"], row["sold"], row["held"], row["free"]) == (9, 2, 2, 5)  # B3 is blocked
    assert row["takings"] == 2500 and row["tickets"] == 2 and row["currency"] == "GBP"
    assert row["houseful"] is False and row["movie"] == "Test Movie" and row["auditorium"] == "Screen 1"
    assert body["totals"]["capacity"] == 13 and body["totals"]["takings"] == 2500

    resp = await client.get("/api/dashboard/occupancy", headers=staff["headers"],
                            params={"date": day, "cinema_id": str(other["cinema_id"])})
    assert [r["screening_id"] for r in (await resp.json())["screenings"]] == [other["screening_id"]]
    later_day = await day_of(pg, later["screening_id"])
    resp = await client.get("/api/dashboard/occupancy", headers=staff["headers"], params={"from": day, "to": later_day})
    assert {r["screening_id"] for r in (await resp.json())["screenings"]} == {
        sid, other["screening_id"], later["screening_id"]}


@at_any_hour
async def test_today_is_each_cinemas_local_day(client, pg, make_user, make_screening, clock) -> None:
    staff = await make_user("staff")
    now = clock.now()
    shows: dict[str, dict[str, int]] = {}
    for zone in ("Europe/London", "America/New_York"):
        local = now.astimezone(ZoneInfo(zone))
        midnight = dt.datetime.combine(local.date(), dt.time(), ZoneInfo(zone))
        # Just after the local midnights around today, whatever the hour: only the middle one is today.
        starts = [midnight - dt.timedelta(minutes=30), midnight + dt.timedelta(minutes=30),
                  midnight + dt.timedelta(days=1, minutes=30)]
        made = [await make_screening(rows=1, per_row=2, time_zone=zone, starts_in=at - now) for at in starts]
        shows[zone] = {"cinema": made[0]["cinema_id"], "today": made[1]["screening_id"]}
        for n, m in enumerate(made[1:], start=2):  # one cinema per zone
            await pg.execute("UPDATE auditorium SET cinema_id = $1, name = $2 WHERE id = $3", made[0]["cinema_id"],
                             f"Screen {n}", m["auditorium_id"])
    for zone, show in shows.items():
        resp = await client.get("/api/dashboard/occupancy", params={"cinema_id": show["cinema"]},
                                headers=staff["headers"])
        body = await resp.json()
        assert body["filter"]["from"] == now.astimezone(ZoneInfo(zone)).date().isoformat()
        assert [r["screening_id"] for r in body["screenings"]] == [show["today"]]
    # All cinemas: today in catalog.default_time_zone (London); each show on its own cinema's day.
    ws, listing = await open_feed(client, staff)
    london_today = now.astimezone(ZoneInfo("Europe/London")).date().isoformat()
    assert listing["screenings"] and all(r["time_zone"] for r in listing["screenings"])
    assert shows["Europe/London"]["today"] in {r["screening_id"] for r in listing["screenings"]}
    resp = await client.get("/api/dashboard/occupancy", headers=staff["headers"])
    assert (await resp.json())["filter"]["from"] == london_today
    await ws.close()


async def test_rest_houseful_when_every_seat_is_taken(client, pg, make_user, make_screening) -> None:
    admin, buyer = await make_user("admin"), await make_user("customer")
    small = await make_screening(rows=1, per_row=4)
    sid, seats = small["screening_id"], small["seats"]
    await sell(pg, buyer["id"], sid, {seats["A1"]: 1000, seats["A2"]: 1000})
    await client.app[keys.HOLDS].rebuild_sold(sid)
    await client.app[keys.HOLDS].hold(sid, f"u{buyer['id']}", [seats["A3"], seats["A4"]])
    resp = await client.get("/api/dashboard/occupancy", params={"date": await day_of(pg, sid)}, headers=admin["headers"])
    [row] = (await resp.json())["screenings"]
    assert (row["sold"], row["held"], row["free"], row["houseful"], row["takings"]) == (2, 2, 0, True, 2000)
    assert (await resp.json())["totals"]["houseful"] == 1


async def test_rest_refuses_anonymous_customers_and_bad_filters(client, make_user) -> None:
    customer, staff = await make_user("customer"), await make_user("staff")
    assert (await client.get("/api/dashboard/occupancy")).status == 401
    assert (await client.get("/api/dashboard/occupancy", headers=customer["headers"])).status == 403
    for params in ({"date": "2024-02-30"}, {"date": "tomorrow"}, {"date": "2024-01-01", "from": "2024-01-01"},
                   {"from": "2024-03-02", "to": "2024-03-01"}, {"from": "2024-01-01", "to": "2024-06-01"},
                   {"cinema_id": "x"}, {"venue": "1"}):
        resp = await client.get("/api/dashboard/occupancy", params=params, headers=staff["headers"])
        assert resp.status == 400, params
        assert (await resp.json())["error"]["code"] == "invalid"


async def test_feed_shows_holds_and_houseful_on_and_off(make_client, pg, make_user, make_screening) -> None:
    client = await make_client(websocket={"dashboard_tick_ms": 50})
    staff, buyer = await make_user("staff"), await make_user("customer")
    small = await make_screening(rows=1, per_row=4)
    sid, seats, owner = small["screening_id"], small["seats"], f"u{buyer['id']}"
    ws, listing = await open_feed(client, staff, date=await day_of(pg, sid))
    [row] = listing["screenings"]
    assert (row["screening_id"], row["capacity"], row["free"], row["houseful"]) == (sid, 4, 4, False)
    holds = client.app[keys.HOLDS]

    await holds.hold(sid, owner, [seats["A1"]])
    row = await update_until(ws, sid, lambda r: r["held"] == 1)
    assert row["free"] == 3 and row["houseful"] is False
    await holds.hold(sid, owner, [seats["A2"], seats["A3"], seats["A4"]])
    row = await update_until(ws, sid, lambda r: r["held"] == 4)
    assert row["houseful"] is True and row["free"] == 0
    await holds.release(sid, owner, [seats["A4"]])
    row = await update_until(ws, sid, lambda r: r["held"] == 3)
    assert row["houseful"] is False and row["free"] == 1

    # A sale moves seats from held to sold and the takings follow (read from PostgreSQL).
    await holds.lock_for_sale(sid, owner, [seats["A1"], seats["A2"]], "ORDER1")
    await sell(pg, buyer["id"], sid, {seats["A1"]: 1000, seats["A2"]: 1000})
    await holds.mark_sold(sid, owner, [seats["A1"], seats["A2"]])
    row = await update_until(ws, sid, lambda r: r["sold"] == 2)
    assert (row["held"], row["takings"], row["tickets"]) == (1, 2000, 2)
    await ws.close()


async def test_feed_filter_change(make_client, pg, make_user, make_screening) -> None:
    client = await make_client(websocket={"dashboard_tick_ms": 50})
    staff, buyer = await make_user("staff"), await make_user("customer")
    first, second = await make_screening(rows=1, per_row=6), await make_screening(rows=1, per_row=6)
    day = await day_of(pg, first["screening_id"])
    ws, listing = await open_feed(client, staff, date=day, cinema_id=first["cinema_id"])
    assert [r["screening_id"] for r in listing["screenings"]] == [first["screening_id"]]

    await ws.send_json({"id": 1, "type": "filter", "cinema_id": second["cinema_id"], "date": day})
    result = await frame(ws, "result")
    assert result["id"] == 1 and result["success"] is True
    assert result["result"]["filter"] == {"cinema_id": second["cinema_id"], "from": day, "to": day}
    listing = await frame(ws, "occupancy")
    assert [r["screening_id"] for r in listing["screenings"]] == [second["screening_id"]]

    holds, owner = client.app[keys.HOLDS], f"u{buyer['id']}"
    await holds.hold(first["screening_id"], owner, [first["seats"]["A1"]])
    await holds.hold(second["screening_id"], owner, [second["seats"]["A1"]])
    seen: list[dict[str, Any]] = []
    await update_until(ws, second["screening_id"], lambda r: r["held"] == 1, seen)
    assert all(r["screening_id"] == second["screening_id"] for u in seen for r in u["screenings"])

    await ws.send_json({"id": 2, "type": "filter", "date": "2024-13-01"})
    bad = await frame(ws, "result")
    assert bad["success"] is False and bad["error"]["code"] == "invalid"
    await ws.send_json({"id": 2, "type": "filter"})
    assert (await frame(ws, "result"))["error"]["code"] == "bad_id"
    await ws.send_json({"id": 3, "type": "hold"})
    assert (await frame(ws, "result"))["error"]["code"] == "unknown_command"
    await ws.close()


async def test_feed_coalesces_a_tick_of_holds_into_one_update(make_client, pg, make_user, make_screening) -> None:
    client = await make_client(websocket={"dashboard_tick_ms": 700})
    staff = await make_user("staff")
    buyers = [await make_user("customer") for _ in range(8)]
    a = await make_screening(rows=2, per_row=8, orphan_rule=False)
    b = await make_screening(rows=2, per_row=8, orphan_rule=False)
    ws, listing = await open_feed(client, staff, date=await day_of(pg, a["screening_id"]))
    assert len(listing["screenings"]) == 2
    holds = client.app[keys.HOLDS]
    # Sixteen holds (eight per screening) land within one tick.
    await asyncio.gather(*(
        holds.hold(s["screening_id"], f"u{u['id']}", [s["seats"][f"A{i}"], s["seats"][f"B{i}"]])
        for s in (a, b) for i, u in enumerate(buyers, start=1)
    ))
    update = await frame(ws, "update")
    rows = {r["screening_id"]: r for r in update["screenings"]}
    assert len(update["screenings"]) == 2 and rows[a["screening_id"]]["held"] == 16
    assert rows[b["screening_id"]]["held"] == 16
    await ws.close()


async def test_feed_refuses_customers_and_wrong_origins(make_client, make_user) -> None:
    client = await make_client(websocket={"auth_timeout_seconds": 0.3})
    customer, staff = await make_user("customer"), await make_user("staff")
    ws = await client.ws_connect("/ws/dashboard", headers=customer["headers"])
    refused = await frame(ws)  # the rooms' reply shape, answering no request (id null)
    assert refused == {"id": None, "type": "result", "success": False,
                       "error": {"code": "forbidden", "message": "The feed is for staff and admins."}}
    assert (await ws.receive()).type == WSMsgType.CLOSE and ws.close_code == 4003

    ws = await client.ws_connect("/ws/dashboard")  # token in the first message
    await ws.send_json({"type": "auth", "token": customer["token"]})
    assert (await frame(ws))["error"]["code"] == "forbidden"
    await ws.receive()
    assert ws.close_code == 4003

    ws = await client.ws_connect("/ws/dashboard")
    await ws.send_json({"type": "auth", "token": staff["token"]})
    assert (await frame(ws))["type"] == "hello"
    assert (await frame(ws))["type"] == "occupancy"
    await ws.close()

    ws = await client.ws_connect("/ws/dashboard")  # the rooms' form: an auth command with an id
    await ws.send_json({"id": 1, "type": "auth", "token": staff["token"]})
    assert (await frame(ws)) == {"id": 1, "type": "result", "success": True, "result": {"role": "staff"}}
    await frame(ws, "occupancy")
    await ws.send_json({"id": 1, "type": "filter"})
    assert (await frame(ws, "result"))["error"]["code"] == "bad_id"
    await ws.close()

    ws = await client.ws_connect("/ws/dashboard")
    await ws.send_json({"id": 1, "type": "auth", "token": "not-a-token"})
    refused = await frame(ws)
    assert (refused["id"], refused["type"], refused["success"]) == (1, "result", False)
    assert refused["error"]["code"] == "unauthorized"
    await ws.receive()
    assert ws.close_code == 4001

    ws = await client.ws_connect("/ws/dashboard")  # says nothing: closed when the time is up
    assert (await frame(ws))["error"]["code"] == "unauthorized"
    await ws.receive()
    assert ws.close_code == 4001

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws/dashboard", headers={**staff["headers"], "Origin": "https://evil.example"})
    assert refused.value.status == 403


async def test_slow_dashboard_is_dropped(make_client, pg, make_user, make_screening) -> None:
    client = await make_client(websocket={"dashboard_tick_ms": 20})
    buyer = await make_user("customer")
    small = await make_screening(rows=1, per_row=6)
    sid, seats = small["screening_id"], small["seats"]
    hub, holds = client.app[keys.DASHBOARD], client.app[keys.HOLDS]
    closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    # A viewer whose frames nobody drains, with room for one frame.
    flt = await hub.resolve(DayRange.parse(date=await day_of(pg, sid)))
    stuck = Viewer(flt, 1, lambda code, why: closed.set_result(code))
    await hub.join(stuck)
    await hub.show(stuck, stuck.filter)
    for seat in ("A1", "A2", "A3", "A4", "A5"):
        await holds.hold(sid, f"u{buyer['id']}", [seats[seat]])
        # Each hold gets its own tick (so its own frame) unless the viewer is dropped first.
        await asyncio.wait([closed], timeout=0.5)
        if closed.done():
            break
    assert closed.done() and closed.result() == 4009
    assert stuck not in hub.viewers


async def test_feed_shows_expiry(make_client, pg, make_user, make_screening) -> None:
    client = await make_client(holds={"ttl_seconds": 1}, websocket={"dashboard_tick_ms": 50})
    staff, buyer = await make_user("staff"), await make_user("customer")
    small = await make_screening(rows=1, per_row=4)
    sid = small["screening_id"]
    ws, _ = await open_feed(client, staff, date=await day_of(pg, sid))
    assert sid in client.app[keys.HOLDS].sweep_targets()  # swept though no room is open
    await client.app[keys.HOLDS].hold(sid, f"u{buyer['id']}", [small["seats"]["A1"]])
    await update_until(ws, sid, lambda r: r["held"] == 1)
    row = await update_until(ws, sid, lambda r: r["held"] == 0)
    assert row["free"] == 4
    await ws.close()


async def test_feed_bad_input_gets_the_socket_cores_errors(make_client, pg, make_user, make_screening) -> None:
    client = await make_client(websocket={"commands_per_second": 1, "command_burst": 3})
    staff = await make_user("staff")
    small = await make_screening(rows=1, per_row=4)
    ws, _ = await open_feed(client, staff, date=await day_of(pg, small["screening_id"]))
    await ws.send_str("{not json")
    await ws.send_bytes(b"\x00binary")
    await ws.send_json({"type": "filter"})
    errors = [await frame(ws, "result") for _ in range(3)]
    assert [(e["id"], e["success"], e["error"]["code"]) for e in errors] == [
        (None, False, "invalid_json"), (None, False, "binary_not_supported"), (None, False, "invalid")]
    assert errors[2]["error"]["field"] == "id"
    await ws.send_json({"id": 5, "type": "filter", "cinema_id": 0})  # the bucket of 3 is spent
    assert (await frame(ws, "result"))["error"]["code"] == "rate_limited"
    for n in range(6, 40):  # far beyond the limit within a second: closed as a flood
        await ws.send_json({"id": n, "type": "filter"})
    async with asyncio.timeout(WAIT):
        while (await ws.receive()).type != WSMsgType.CLOSE:
            pass
    assert ws.close_code == 4008
