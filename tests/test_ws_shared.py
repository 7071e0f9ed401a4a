"""Rooms across time and processes: expiry, houseful, two servers, a worker that dies."""
from __future__ import annotations

import asyncio

from tests.wsclient import connect

SHORT_HOLDS = {"ttl_seconds": 1, "sweep_interval_ms": 100}


async def test_expiry_is_announced_to_every_watcher(make_client, make_user, make_screening, clock) -> None:
    client = await make_client(holds=SHORT_HOLDS)
    screening = await make_screening(rows=1, per_row=6)
    sid, seats = screening["screening_id"], screening["seats"]
    user = await make_user()
    holder = await connect(client, sid, token=user["token"])
    watchers = [await connect(client, sid) for _ in range(3)]
    held = await holder.ok("hold", seats=[seats["A1"], seats["A2"]])
    assert held["deadline"] - clock.ms() <= 1_500
    for c in (holder, *watchers):
        expired = await c.event(lambda e: e["type"] == "expired", timeout=3.0)
        assert sorted(expired["seats"]) == [seats["A1"], seats["A2"]]
    assert (await holder.ok("my_holds"))["seats"] == []
    for c in (holder, *watchers):
        await c.close()


async def test_houseful_on_and_off(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=4, orphan_rule=False)
    sid, seats = screening["screening_id"], screening["seats"]
    ann, bob = await make_user(), await make_user()
    a = await connect(client, sid, token=ann["token"])
    b = await connect(client, sid, token=bob["token"])
    watcher = await connect(client, sid)
    await a.ok("hold", seats=[seats[f"A{n}"] for n in range(1, 5)])
    full = await watcher.wait_for(lambda m: m["type"] == "events" and m["houseful"] is True)
    assert full["events"][-1]["houseful"] is True
    assert (await b.error("hold_best", count=1))["code"] in ("houseful", "no_adjacent_seats")
    assert (await b.error("hold", seats=[seats["A1"]]))["code"] in ("houseful", "seat_taken")
    start = len(watcher.messages)
    await a.ok("release", seats=[seats["A4"]])
    opened = await watcher.wait_for(lambda m: m["type"] == "events", start=start)
    assert opened["houseful"] is False and opened["events"][0]["type"] == "released"
    assert (await b.ok("hold", seats=[seats["A4"]]))["seats"] == [seats["A4"]]
    for c in (a, b, watcher):
        await c.close()


async def test_two_servers_share_a_room(make_client, make_user, make_screening) -> None:
    one, two = await make_client(), await make_client()
    screening = await make_screening(rows=1, per_row=6)
    sid, seats = screening["screening_id"], screening["seats"]
    ann, bob = await make_user(), await make_user()
    a = await connect(one, sid, token=ann["token"])
    b = await connect(two, sid, token=bob["token"])
    await a.ok("hold", seats=[seats["A1"], seats["A2"]])
    seen = await b.event(lambda e: e["type"] == "held")
    assert sorted(seen["seats"]) == [seats["A1"], seats["A2"]]
    assert (await b.error("hold", seats=[seats["A2"], seats["A3"]]))["code"] == "seat_taken"
    await b.ok("hold", seats=[seats["A5"], seats["A6"]])
    assert sorted((await a.event(lambda e: e["type"] == "held" and seats["A5"] in e["seats"]))["seats"]) == [
        seats["A5"], seats["A6"]]
    await a.close()
    await b.close()


async def test_worker_killed_while_holding_expiry_still_announced(make_client, make_user, make_screening) -> None:
    doomed, survivor = await make_client(holds=SHORT_HOLDS), await make_client(holds=SHORT_HOLDS)
    screening = await make_screening(rows=1, per_row=6)
    sid, seats = screening["screening_id"], screening["seats"]
    user = await make_user()
    holder = await connect(doomed, sid, token=user["token"])
    watcher = await connect(survivor, sid)
    await holder.ok("hold", seats=[seats["A3"], seats["A4"]])
    await watcher.event(lambda e: e["type"] == "held")
    await asyncio.wait_for(doomed.close(), 10)  # the holder's worker is gone, its hold is not
    expired = await watcher.event(lambda e: e["type"] == "expired", timeout=4.0)
    assert sorted(expired["seats"]) == [seats["A3"], seats["A4"]]
    assert (await watcher.ok("snapshot"))["held"] == []
    await watcher.close()
