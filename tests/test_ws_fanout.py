"""Fan-out under stress: version gaps resync the room; a slow socket is resynced or dropped."""
from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import orjson

from server import keys
from server.keyspace import KeySpace
from server.live import protocol as p
from tests.wsclient import RoomClient, connect

SLOW = {"send_queue_frames": 4, "tick_ms": 5, "send_buffer_bytes": 4096}


def _small_receive_buffer(addr_info: Any) -> socket.socket:
    """A client socket with a tiny receive window, so a client that stops reading stalls soon."""
    family, type_, proto, _, _ = addr_info
    sock = socket.socket(family=family, type=type_, proto=proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def test_version_gap_resyncs_every_socket(client, redis, settings, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=6)
    sid, seats = screening["screening_id"], screening["seats"]
    user = await make_user()
    holder = await connect(client, sid, token=user["token"])
    watcher = await connect(client, sid)
    version = watcher.messages[1]["version"]
    start_w, start_h = len(watcher.messages), len(holder.messages)
    forged = {"v": version + 5, "type": "held", "seats": [seats["A1"]], "by": "forged", "ts": 0, "houseful": False}
    await redis.spublish(KeySpace(settings.redis.key_prefix).channel(sid), orjson.dumps(forged))

    for c, start in ((watcher, start_w), (holder, start_h)):
        snap = await c.snapshot(start)
        assert snap["version"] == version and snap["held"] == []
    held = await holder.ok("hold", seats=[seats["A1"], seats["A2"]])
    event = await watcher.event(lambda e: e["type"] == "held", start=start_w)
    assert event["v"] == held["version"] == version + 1 and event["by"] != "forged"
    assert all(e["by"] != "forged" for e in watcher.events(start_w))
    await holder.close()
    await watcher.close()


async def _churn_until(store: Any, sid: int, owner: str, seat_ids: list[int], done: Any, most: int) -> int:
    """Hold and release 100 seats over and over (big events) until done(); returns the last version."""
    version = 0
    for _ in range(most):
        await store.hold(sid, owner, seat_ids)
        version = (await store.release(sid, owner, None))["version"]
        if done():
            break
    return version


async def _slow_and_fast(client: Any, sid: int, session: aiohttp.ClientSession) -> tuple[RoomClient, RoomClient]:
    fast = await connect(client, sid)
    slow = await connect(session, sid, url=client.make_url(f"/ws/screenings/{sid}"), read=False)
    await fast.wait_for(lambda m: m["type"] == "snapshot")
    return fast, slow


async def test_slow_consumer_is_resynced_when_it_catches_up(make_client, make_screening) -> None:
    client = await make_client(websocket={**SLOW, "behind_grace_seconds": 120}, holds={"max_seats_per_customer": 100})
    screening = await make_screening(rows=10, per_row=20, orphan_rule=False)
    sid, block = screening["screening_id"], list(screening["seats"].values())[:100]
    hub, store = client.app[keys.ROOMS], client.app[keys.HOLDS]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=_small_receive_buffer)) as session:
        fast, slow = await _slow_and_fast(client, sid, session)
        last = await _churn_until(store, sid, "u1", block, lambda: hub.lagging(sid) == 1, 5_000)
        assert hub.lagging(sid) == 1 and hub.room_sizes()[sid] == 2
        for _ in range(5):  # changes the slow socket misses while behind
            last = await _churn_until(store, sid, "u1", block, lambda: True, 1)
        # The reader keeps up with every change while the other socket reads nothing at all.
        await fast.event(lambda e: e["v"] == last, timeout=30)
        assert [e["v"] for e in fast.events()] == list(range(fast.messages[1]["version"] + 1, last + 1))

        slow.start_reading()
        fresh = await slow.wait_for(lambda m: m["type"] == "snapshot" and m["version"] == last, start=2)
        assert fresh["held"] == [] and slow.close_code is None
        relayed = [e["v"] for e in slow.events()]
        assert len(relayed) < last - slow.messages[1]["version"]  # it was sent a snapshot, not every delta
        await slow.close()
        await fast.close()


async def test_slow_consumer_that_stays_behind_is_closed_4009(make_client, make_screening) -> None:
    client = await make_client(websocket={**SLOW, "behind_grace_seconds": 0.2}, holds={"max_seats_per_customer": 100})
    screening = await make_screening(rows=10, per_row=20, orphan_rule=False)
    sid, block = screening["screening_id"], list(screening["seats"].values())[:100]
    hub, store = client.app[keys.ROOMS], client.app[keys.HOLDS]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=_small_receive_buffer)) as session:
        fast, slow = await _slow_and_fast(client, sid, session)
        assert hub.room_sizes()[sid] == 2
        last = await _churn_until(store, sid, "u1", block, lambda: hub.room_sizes().get(sid) == 1, 5_000)
        assert hub.room_sizes()[sid] == 1  # the slow socket left the room; the room went on
        await fast.event(lambda e: e["v"] == last, timeout=30)
        assert await slow.wait_closed() == p.CLOSE_TOO_SLOW
        held = await store.hold(sid, "u2", block[:2])
        await fast.event(lambda e: e["v"] == held["version"])
        await fast.close()


async def test_shutdown_is_not_held_up_by_a_stalled_socket(make_client, make_screening) -> None:
    client = await make_client(websocket={**SLOW, "behind_grace_seconds": 120}, holds={"max_seats_per_customer": 100})
    screening = await make_screening(rows=10, per_row=20, orphan_rule=False)
    sid, block = screening["screening_id"], list(screening["seats"].values())[:100]
    hub, store = client.app[keys.ROOMS], client.app[keys.HOLDS]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=_small_receive_buffer)) as session:
        fast, slow = await _slow_and_fast(client, sid, session)
        await _churn_until(store, sid, "u1", block, lambda: hub.lagging(sid) == 1, 5_000)
        await asyncio.wait_for(client.server.close(), 30)  # the stalled close is cut short
        assert await fast.wait_closed() == p.CLOSE_GOING_AWAY
        slow.start_reading()
        assert await slow.wait_closed() in (p.CLOSE_GOING_AWAY, 1006)
