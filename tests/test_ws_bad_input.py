"""Every bad input gets its stable error (or close code); Redis and the rest of the room are untouched."""
from __future__ import annotations

from typing import Any

from server.live import protocol as p
from tests.wsclient import RoomClient, connect


async def _room(client: Any, make_user: Any, make_screening: Any) -> tuple[dict, RoomClient, RoomClient, RoomClient]:
    screening = await make_screening(rows=2, per_row=6)
    bad_user, other = await make_user(), await make_user()
    bad = await connect(client, screening["screening_id"], token=bad_user["token"])
    bystander = await connect(client, screening["screening_id"], token=other["token"])
    watcher = await connect(client, screening["screening_id"])
    return screening, bad, bystander, watcher


async def _room_unchanged(screening: dict, bystander: RoomClient, watcher: RoomClient,
                          before: dict, mark: int) -> None:
    """Same seats and version as before; the bystander saw no events and can still hold."""
    after = await watcher.ok("snapshot")
    assert (after["version"], after["held"]) == (before["version"], before["held"])
    held = await bystander.ok("hold", seats=[screening["seats"]["B1"], screening["seats"]["B2"]])
    await bystander.event(lambda e: e["v"] == held["version"], start=mark)
    assert [e["v"] for e in bystander.events(mark)] == [held["version"]]
    assert {m["type"] for m in bystander.messages[mark:]} <= {"result", "events"}


async def test_bad_commands_get_stable_errors(make_client, make_user, make_screening) -> None:
    client = await make_client(websocket={"commands_per_second": 1000, "command_burst": 1000})
    screening, bad, bystander, watcher = await _room(client, make_user, make_screening)
    seats = screening["seats"]
    elsewhere = await make_screening(rows=1, per_row=3)
    first = await bystander.ok("hold", seats=[seats["A1"], seats["A2"]])
    await bystander.event(lambda e: e["v"] == first["version"])
    before = await watcher.ok("snapshot")
    mark = len(bystander.messages)

    start = len(bad.messages)
    await bad.send_raw("{not json")
    await bad.ws.send_bytes(b"\x00\x01binary")
    await bad.send_raw("[1, 2, 3]")
    await bad.send_raw({"type": "ping"})
    await bad.send_raw({"id": "7", "type": "ping"})
    await bad.send_raw({"id": 2**60, "type": "ping"})
    await bad.wait_for(lambda m: sum(1 for x in bad.messages[start:] if x.get("id") is None) == 6, start=start)
    codes = [m["error"]["code"] for m in bad.messages[start:] if m.get("id") is None]
    assert codes == ["invalid_json", "binary_not_supported", "invalid", "invalid", "invalid", "invalid"]
    assert [m["error"].get("field") for m in bad.messages[start:]][3:6] == ["id", "id", "id"]

    def code(error: dict) -> tuple[str, Any]:
        return error["code"], error.get("field")

    assert code(await bad.error("teleport")) == ("unknown_command", "type")
    assert code(await bad.error("hold")) == ("invalid", "seats")
    assert code(await bad.error("hold", seats="A1")) == ("invalid", "seats")
    assert code(await bad.error("hold", seats=[])) == ("invalid", "seats")
    assert code(await bad.error("hold", seats=[1.5]))[0] == "invalid"
    assert code(await bad.error("hold", seats=[True]))[0] == "invalid"
    assert code(await bad.error("hold", seats=[seats["A5"], seats["A5"]]))[0] == "invalid"
    assert code(await bad.error("hold", seats=[seats["A5"]], extra=1)) == ("invalid", "extra")
    assert code(await bad.error("hold", seats=[seats["A5"]], wheelchair="yes")) == ("invalid", "wheelchair")
    foreign = [elsewhere["seats"]["A1"], elsewhere["seats"]["A2"]]  # another auditorium's seats
    assert code(await bad.error("hold", seats=foreign))[0] == "unknown_seat"
    assert code(await bad.error("hold", seats=[10**12]))[0] == "unknown_seat"
    assert code(await bad.error("hold", seats=[seats["A2"], seats["A3"]]))[0] == "seat_taken"
    for count in (0, -1, 10**9, "2", None):
        assert code(await bad.error("hold_best", count=count)) == ("invalid", "count")
    assert code(await bad.error("hold_best", count=11))[0] == "limit_exceeded"
    assert code(await bad.error("hold_best", count=2, kind="sofa")) == ("invalid", "kind")
    assert code(await bad.error("release", seats=[seats["A1"]]))[0] == "not_held"
    assert code(await bad.error("release", seats=[seats["A6"]]))[0] == "not_held"
    assert code(await bad.error("extend"))[0] == "not_held"
    assert code(await bad.error("auth", token=123)) == ("invalid", "token")

    last = bad.next_id - 1
    await bad.send_raw({"id": last, "type": "ping"})
    repeat = await bad.wait_for(lambda m: m.get("id") == last and m.get("error", {}).get("code") == "bad_id")
    assert repeat["success"] is False
    await bad.send_raw({"id": 1, "type": "ping"})
    await bad.wait_for(lambda m: m.get("id") == 1 and m.get("error", {}).get("code") == "bad_id")
    bad.next_id = last + 10  # ids may skip ahead, never go back
    assert (await bad.ok("ping"))["pong"] is True

    assert code(await watcher.error("hold", seats=[seats["A5"], seats["A6"]]))[0] == "unauthorized"
    assert code(await watcher.error("release"))[0] == "unauthorized"
    assert code(await watcher.error("my_holds"))[0] == "unauthorized"
    assert bad.close_code is None and watcher.close_code is None
    await _room_unchanged(screening, bystander, watcher, before, mark)
    for c in (bad, bystander, watcher):
        await c.close()


async def test_flood_gets_rate_limited_then_closed_4008(make_client, make_user, make_screening) -> None:
    client = await make_client(websocket={"commands_per_second": 1, "command_burst": 3})
    screening, bad, bystander, watcher = await _room(client, make_user, make_screening)
    before = await watcher.ok("snapshot")
    mark = len(bystander.messages)
    start = len(bad.messages)
    ids = [await bad.send("hold", seats=[screening["seats"]["A1"]]) for _ in range(4)]
    first = await bad.result(ids[0])
    await bystander.event(lambda e: e["v"] == first["result"]["version"], start=mark)
    limited = await bad.wait_for(lambda m: m.get("error", {}).get("code") == "rate_limited", start=start)
    assert limited["id"] == bad.next_id - 1 and limited["success"] is False
    try:
        for _ in range(3 * 3 + 5):
            await bad.send("ping")
    except ConnectionError:
        pass  # the server may already have closed it
    assert await bad.wait_closed() == p.CLOSE_FLOOD
    # The first burst was served (a hold went through), the flood changed nothing else.
    held = [e for e in bystander.events(mark) if e["type"] == "held"]
    assert len(held) == 1 and held[0]["seats"] == [screening["seats"]["A1"]]
    before["version"], before["held"] = held[0]["v"], [screening["seats"]["A1"]]
    await _room_unchanged(screening, bystander, watcher, before, len(bystander.messages))
    for c in (bystander, watcher):
        await c.close()


async def test_oversize_frame_closes_1009(make_client, make_user, make_screening) -> None:
    client = await make_client(websocket={"max_message_bytes": 512})
    screening, bad, bystander, watcher = await _room(client, make_user, make_screening)
    before = await watcher.ok("snapshot")
    mark = len(bystander.messages)
    await bad.send("hold", seats=[screening["seats"]["A1"]] * 1 + list(range(10**6, 10**6 + 200)))
    assert await bad.wait_closed() == p.CLOSE_TOO_BIG
    await _room_unchanged(screening, bystander, watcher, before, mark)
    for c in (bystander, watcher):
        await c.close()
