"""Houseful on a real Redis Cluster (3 primaries, 3 replicas, scripts/redis_cluster.py).

A representative part of the live-room, checkout, staff-feed and waiting-room suites runs here
again unchanged: they are imported below, and this module's `settings` points the app (and the
tests' own Redis client) at the run's cluster, so every Lua script, pipeline and subscription
meets real slots. Then what only a cluster has: two servers on it (a hold through one seen by a
watcher on the other, a sale through one on the other's staff feed), a primary killed during a
burst of holds, and the event bus following its channel to the promoted primary.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from scripts.redis_cluster import LocalRedisCluster
from server.config import ConfigError, Settings, load_settings
from server.bus import EventBus
from server.bus_cluster import shards_for
from server.redis_client import client_for, cluster_url, delete_prefix
from tests.support.checkout import live_tickets, new_order, order, pay, wait_status
from tests.support.holds import make_store, store  # noqa: F401  (fixtures of the imported tests)
from tests.support.stores import local_redis_cluster
from tests.wsclient import RoomClient, connect
# The representative suites, run again on the cluster (pytest collects imported tests here).
from tests.test_checkout_flow import test_happy_path_hold_to_ticket_to_check_in  # noqa: F401
from tests.test_dashboard import day_of, open_feed, update_until
from tests.test_dashboard import test_feed_shows_holds_and_houseful_on_and_off  # noqa: F401
from tests.test_holds_basic import test_hold_is_all_or_nothing  # noqa: F401
from tests.test_holds_expiry import test_expiry_is_announced_by_the_sweeper  # noqa: F401
from tests.test_waiting_room import test_countdown_line_admission_hold_checkout, wr_client  # noqa: F401
from tests.test_ws_race import test_200_clients_race_for_10_seats  # noqa: F401
from tests.test_ws_room import test_two_clients_see_each_others_holds_and_releases  # noqa: F401


@pytest.fixture
async def settings(settings: Settings, redis_cluster: LocalRedisCluster) -> AsyncIterator[Settings]:
    """The run's settings (tables emptied) on the run's Redis Cluster, no key of the prefix left there."""
    on_cluster = settings.replace(redis={"url": redis_cluster.url})
    await delete_prefix(on_cluster.redis.url, on_cluster.redis.key_prefix)
    yield on_cluster


async def test_two_servers_on_the_cluster_share_holds_and_sales(make_client, make_user, make_screening, pg) -> None:
    # Two servers, each its own cluster client, rooms and staff feed.
    a, b = await make_client(websocket={"dashboard_tick_ms": 50}), await make_client()
    s = await make_screening(rows=1, per_row=4)
    sid, seats = s["screening_id"], s["seats"]
    buyer, staff = await make_user(), await make_user("staff")
    watcher = await connect(b, sid)
    holder = await connect(a, sid, token=buyer["token"])
    held = await holder.ok("hold", seats=[seats["A1"], seats["A2"]])
    event = await watcher.event(lambda e: e["type"] == "held")
    assert event["v"] == held["version"] and sorted(event["seats"]) == sorted([seats["A1"], seats["A2"]])
    await holder.ok("release", seats=[seats["A1"]])
    assert (await watcher.event(lambda e: e["type"] == "released"))["seats"] == [seats["A1"]]

    # A sale through B reaches the staff feed on A.
    feed, _ = await open_feed(a, staff, date=await day_of(pg, sid))
    created = await new_order(b, buyer, sid, [seats["A2"]])
    await pay(b, created)
    assert (await wait_status(b, buyer, created["order_key"]))["status"] == "paid"
    row = await update_until(feed, sid, lambda r: r["sold"] == 1)
    assert row["held"] == 0 and row["tickets"] == 1
    await feed.close()
    await holder.close()
    await watcher.close()


# --- failover ----------------------------------------------------------------------------------

SEATS = 8
ROUNDS = 6  # hold/release turns per buyer: the kill lands inside the burst
BURST_SECONDS = 40.0


@pytest.fixture
def own_cluster() -> Any:
    """A cluster of this test alone: it loses a primary."""
    with local_redis_cluster() as cluster:
        yield cluster


async def _until_answered(room: RoomClient, command: str, seat: int, codes: Counter[str]) -> dict[str, Any]:
    """Send a command, again while the seat service is `unavailable` (the failover gap)."""
    deadline = time.monotonic() + BURST_SECONDS
    while True:
        reply = await room.request(command, seats=[seat])
        codes[f"{command} " + ("ok" if reply["success"] else reply["error"]["code"])] += 1
        if reply["success"] or reply["error"]["code"] != "unavailable" or time.monotonic() > deadline:
            return reply
        await asyncio.sleep(0.1)


async def test_a_primary_killed_during_a_burst_of_holds(own_cluster: LocalRedisCluster, make_client, make_user,
                                                       make_screening, settings: Settings, pg) -> None:
    client = await make_client(redis={"url": own_cluster.url})
    s = await make_screening(rows=1, per_row=SEATS + 1, orphan_rule=False)  # the last seat nobody wants
    sid, seat_ids = s["screening_id"], [s["seats"][f"A{n}"] for n in range(1, SEATS + 1)]
    spare = s["seats"][f"A{SEATS + 1}"]
    users = [await make_user() for _ in range(2 * SEATS)]  # two buyers want each seat
    url = client.make_url(f"/ws/screenings/{sid}")
    codes: Counter[str] = Counter()
    async with aiohttp.ClientSession() as session:
        watcher = await connect(session, sid, url=url)
        rooms = await asyncio.gather(*(connect(session, sid, url=url, token=u["token"]) for u in users))
        meta = f"{settings.redis.key_prefix}{{s:{sid}}}:meta"  # a key in the screening's slot
        shard = own_cluster.primary_of(meta)
        # Two buyers per seat hold and let go in turn; the primary dies in the middle of it.
        halfway = asyncio.Event()

        async def racer(i: int, room: RoomClient) -> dict[str, Any]:
            for _ in range(ROUNDS - 1):
                if (await _until_answered(room, "hold", seat_ids[i % SEATS], codes))["success"]:
                    await _until_answered(room, "release", seat_ids[i % SEATS], codes)
                if codes["hold ok"] >= SEATS * ROUNDS // 4:
                    halfway.set()
            return await _until_answered(room, "hold", seat_ids[i % SEATS], codes)

        burst = [asyncio.create_task(racer(i, r)) for i, r in enumerate(rooms)]
        await asyncio.wait_for(halfway.wait(), BURST_SECONDS)
        own_cluster.kill(shard)
        async with session.get(client.make_url("/api/health")) as resp:  # one shard out is not this server's fault
            assert resp.status == 200, await resp.text()
        replies = await asyncio.gather(*burst)
        promoted = await asyncio.to_thread(own_cluster.wait_promoted, meta, shard)
        assert promoted != shard and codes["hold ok"] > SEATS * ROUNDS // 4  # holds went on after the kill
        assert {r["error"]["code"] for r in replies if not r["success"]} <= {"seat_taken", "houseful", "unavailable"}

        # Recovery without a restart: the same sockets work, and the watcher sees what follows.
        snap = await watcher.ok("snapshot")
        survivors = set(snap["held"])
        lost = [seat for seat in seat_ids if seat not in survivors]
        mine = [seat for room in rooms for seat in (await room.ok("my_holds"))["seats"]]
        assert sorted(mine) == sorted(survivors)  # no seat held twice; a lost hold is lost for its buyer too
        start = len(watcher.messages)
        late = await make_user()
        late_room = await connect(session, sid, url=url, token=late["token"])
        for seat in seat_ids:  # a surviving hold still keeps its seat; a lost one freed it for anyone
            if seat in survivors:
                assert (await late_room.error("hold", seats=[seat]))["code"] == "seat_taken"
        seat = lost[0] if lost else spare
        taken = await late_room.ok("hold", seats=[seat])
        # The watcher learns of it as an event, or in the fresh snapshot of a room that resynced
        # after its listener moved off the dead node (the event may have come before the resubscribe).
        news = await watcher.wait_for(
            lambda m: m["type"] == "snapshot" and m["version"] >= taken["version"]
            or m["type"] == "events" and m["events"][-1]["v"] >= taken["version"], start=start)
        assert seat in (news["held"] if news["type"] == "snapshot" else news["events"][-1]["seats"])

        # Checkout: every buyer who still holds a seat pays; no seat is ever sold twice.
        paid = 0
        for user, room in zip(users, rooms):
            mine = (await room.ok("my_holds"))["seats"]
            if not mine:
                continue
            resp = await order(client, user, sid, mine)
            if resp.status != 201:
                continue
            created = await resp.json()
            await pay(client, created)
            paid += (await wait_status(client, user, created["order_key"]))["status"] == "paid"
        tickets = await live_tickets(pg, sid)
        assert len(tickets) == len(set(tickets)) == paid
        print(f"failover: shard {shard} -> {promoted}; replies {dict(codes)}; "
              f"holds lost with the primary: {len(lost)} of {SEATS}; tickets sold: {paid}")
        await asyncio.gather(*(r.close() for r in [*rooms, late_room, watcher]))


async def test_every_primary_is_scanned_for_the_prefix(redis_cluster: LocalRedisCluster, settings: Settings) -> None:
    """The per-run cleanup and `run.py restore` find keys on every shard (SCAN on each primary)."""
    client = client_for(settings.redis.url)
    try:
        names = [f"{settings.redis.key_prefix}{{s:{n}}}:probe" for n in range(30)]
        assert len({redis_cluster.primary_of(name) for name in names}) == 3  # spread over all shards
        for name in names:
            await client.set(name, 1)
        assert await delete_prefix(settings.redis.url, settings.redis.key_prefix) == len(names)
        assert await client.exists(*names[:1]) == 0
    finally:
        await client.aclose()


def test_a_cluster_is_configured_by_url(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("redis:\n  url: redis+cluster://cache-1:7000,cache-2:7001\n")
    assert load_settings(cfg, env={}).redis.url == "redis+cluster://cache-1:7000,cache-2:7001"
    assert cluster_url("redis+cluster://houseful:s%40fe@10.0.0.1:7000,10.0.0.2:7001/") == (
        [("10.0.0.1", 7000), ("10.0.0.2", 7001)], "houseful", "s@fe")
    for bad in ("redis+cluster://", "redis+cluster://cache-1", "redis+cluster://cache-1:7000,:7001", "cluster://a:1"):
        with pytest.raises(ConfigError, match="redis.url"):
            load_settings(cfg, env={"HOUSEFUL_REDIS_URL": bad})


class Heard:
    """A bus listener that keeps what it is told, each kind on its own queue."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[bytes] = asyncio.Queue()
        self.gaps: asyncio.Queue[bytes] = asyncio.Queue()

    def on_event(self, channel: bytes, data: bytes) -> None:
        self.events.put_nowait(data)

    def on_gap(self, channel: bytes) -> None:
        self.gaps.put_nowait(channel)


async def test_the_event_bus_follows_its_channel_to_the_promoted_primary(own_cluster: LocalRedisCluster,
                                                                         settings: Settings) -> None:
    """A worker's bus listens on the primary that owns a screening's channel; when that primary
    dies, the bus re-reads the slot map, resubscribes on the promoted replica, tells its listener
    of the gap (a room resyncs), and hears the next event, with no restart."""
    client = client_for(own_cluster.url)
    bus = EventBus(shards_for(client))
    channel = f"{settings.redis.key_prefix}{{s:1}}:events".encode()
    heard = Heard()
    try:
        await bus.subscribe(channel, heard)
        await client.spublish(channel, b"before")
        assert await asyncio.wait_for(heard.events.get(), 5) == b"before"
        dead = own_cluster.primary_of(channel.decode())
        own_cluster.kill(dead)
        assert await asyncio.wait_for(heard.gaps.get(), 30) == channel  # resubscribed on the new primary
        assert own_cluster.primary_of(channel.decode()) != dead
        await client.spublish(channel, b"after")
        assert await asyncio.wait_for(heard.events.get(), 5) == b"after"
    finally:
        await bus.close()
        await client.aclose()
