"""Rooms over real WebSockets: join, watch, hold, release, auth, versions."""
from __future__ import annotations

import asyncio

import orjson

from server.live import protocol as p
from tests.wsclient import connect


async def test_join_gets_hello_then_snapshot(client, make_screening) -> None:
    screening = await make_screening(rows=2, per_row=5, blocked=[("B", 5)])
    watcher = await connect(client, screening["screening_id"])
    hello, snap = watcher.messages[0], watcher.messages[1]
    assert hello["type"] == "hello" and hello["protocol"] == p.PROTOCOL_VERSION
    assert hello["me"] is None and hello["limits"]["max_seats"] == 10
    assert snap["type"] == "snapshot"
    assert snap["blocked"] == [screening["seats"]["B5"]]
    assert snap["held"] == [] and snap["sold"] == [] and snap["mine"] == [] and snap["me"] is None
    assert snap["houseful"] is False and snap["prices"]["standard"] == 1000
    assert snap["counts"] == {"capacity": 9, "sold": 0, "held": 0, "free": 9}
    assert isinstance(snap["version"], int) and isinstance(snap["server_time"], int)
    await watcher.close()


async def test_two_clients_see_each_others_holds_and_releases(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=2, per_row=6)
    sid, seats = screening["screening_id"], screening["seats"]
    ann, bob = await make_user(), await make_user()
    a = await connect(client, sid, token=ann["token"])
    b = await connect(client, sid, token=bob["token"])
    a_me = a.messages[1]["me"]
    assert a_me and b.messages[1]["me"] and a_me != b.messages[1]["me"]

    held = await a.ok("hold", seats=[seats["A3"], seats["A4"]])
    assert held["seats"] == [seats["A3"], seats["A4"]] and held["deadline"] > 0
    seen = await b.event(lambda e: e["type"] == "held")
    assert sorted(seen["seats"]) == [seats["A3"], seats["A4"]] and seen["by"] == a_me
    assert seen["v"] == held["version"] and "ts" in seen
    own = await a.event(lambda e: e["type"] == "held")  # the holder sees its own event too
    assert own["by"] == a_me

    taken = await b.error("hold", seats=[seats["A4"]])
    assert taken["code"] == "seat_taken" and taken["seats"] == [seats["A4"]]

    released = await a.ok("release", seats=[seats["A3"], seats["A4"]])
    assert sorted(released["seats"]) == [seats["A3"], seats["A4"]]
    freed = await b.event(lambda e: e["type"] == "released")
    assert sorted(freed["seats"]) == [seats["A3"], seats["A4"]] and freed["v"] == released["version"]
    assert (await b.ok("hold", seats=[seats["A4"], seats["A3"]]))["seats"]
    mine = await b.ok("my_holds")
    assert sorted(mine["seats"]) == [seats["A3"], seats["A4"]]
    await a.close()
    await b.close()


async def test_events_arrive_in_version_order_one_frame_per_tick(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=10, orphan_rule=False)
    sid, seats = screening["screening_id"], screening["seats"]
    user = await make_user()
    holder = await connect(client, sid, token=user["token"])
    watcher = await connect(client, sid)
    start_v = watcher.messages[1]["version"]
    ids = [await holder.send("hold", seats=[seats[f"A{n}"]]) for n in range(1, 7)]
    for msg_id in ids:
        assert (await holder.result(msg_id))["success"]
    await watcher.event(lambda e: e["v"] == start_v + 6)
    versions = [e["v"] for e in watcher.events()]
    assert versions == list(range(start_v + 1, start_v + 7))
    frames = [m for m in watcher.messages if m["type"] == "events"]
    assert len(frames) < 6 or all(len(f["events"]) == 1 for f in frames)  # coalesced when close together
    await holder.close()
    await watcher.close()


async def test_cookie_identity_and_first_message_auth(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=6)
    sid, seats = screening["screening_id"], screening["seats"]
    user = await make_user()
    client.session.cookie_jar.update_cookies({"houseful_access": user["token"]})
    by_cookie = await connect(client, sid)
    assert by_cookie.messages[1]["me"]
    assert (await by_cookie.ok("hold", seats=[seats["A1"], seats["A2"]]))["seats"]
    client.session.cookie_jar.clear()

    late = await connect(client, sid, params={"auth": "1"})
    assert late.messages[0]["auth_pending"] is True
    assert (await late.error("hold", seats=[seats["A5"], seats["A6"]]))["code"] == "unauthorized"
    start = len(late.messages)
    who = await late.ok("auth", token=user["token"])
    assert who["user_id"] == user["id"] and who["me"] == by_cookie.messages[1]["me"]
    snap = await late.snapshot(start)  # mine changed: a fresh snapshot follows
    assert sorted(snap["mine"]) == [seats["A1"], seats["A2"]]
    await by_cookie.close()
    await late.close()


async def test_auth_timeout_and_bad_token_close_4001(make_client, make_user, make_screening) -> None:
    client = await make_client(websocket={"auth_timeout_seconds": 0.3})
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    silent = await connect(client, sid, params={"auth": "1"})
    assert await silent.wait_closed() == p.CLOSE_AUTH
    liar = await connect(client, sid)
    reply = await liar.request("auth", token="not-a-jwt")
    assert reply["error"]["code"] == "unauthorized"
    assert await liar.wait_closed() == p.CLOSE_AUTH
    user = await make_user()
    prompt = await connect(client, sid, params={"auth": "1"})
    await prompt.ok("auth", token=user["token"])
    assert (await prompt.ok("ping"))["pong"] is True  # still open after the timeout would have passed
    await prompt.close()


async def test_origin_and_unknown_screening_refused_before_upgrade(client, make_screening) -> None:
    sid = (await make_screening(rows=1, per_row=3))["screening_id"]
    foreign = await client.get(f"/ws/screenings/{sid}", headers={
        "Origin": "https://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    })
    assert foreign.status == 403
    own = await connect(client, sid, headers={"Origin": str(client.make_url("")).rstrip("/")})
    await own.close()
    missing = await client.get(f"/ws/screenings/{sid + 1000}", headers={
        "Connection": "Upgrade", "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    })
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"


async def test_snapshot_command_and_ping(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=4)
    user = await make_user()
    c = await connect(client, screening["screening_id"], token=user["token"])
    await c.ok("hold", seats=[screening["seats"]["A1"]])
    snap = await c.ok("snapshot")
    assert snap["mine"] == [screening["seats"]["A1"]] and snap["version"] >= 1
    assert (await c.ok("ping"))["server_time"] > 0
    await c.close()


async def test_shutdown_closes_with_going_away(make_client, make_screening) -> None:
    client = await make_client()
    sid = (await make_screening(rows=1, per_row=3))["screening_id"]
    watcher = await connect(client, sid)
    await asyncio.wait_for(client.server.close(), 10)
    assert await watcher.wait_closed() == p.CLOSE_GOING_AWAY


def test_frames_are_json_text() -> None:
    assert orjson.loads(p.events_frame([{"v": 1}], True)) == {"type": "events", "events": [{"v": 1}], "houseful": True}


async def test_heartbeat_drops_a_dead_peer(make_client, make_screening) -> None:
    client = await make_client(websocket={"heartbeat_seconds": 0.2})
    sid = (await make_screening(rows=1, per_row=3))["screening_id"]
    alive = await connect(client, sid)
    dead = await connect(client, sid, autoping=False)  # never answers the server's pings
    await dead.wait_closed()
    assert (await alive.ok("ping"))["pong"] is True  # the live one answers pings and stays
    assert alive.close_code is None
    await alive.close()
