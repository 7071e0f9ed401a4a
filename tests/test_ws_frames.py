"""Frame-once fan-out: shared frame bytes, no compression, big rooms coalesce, shared snapshots."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.http_websocket import WebSocketWriter

from server import keys
from server.live import protocol as p
from tests.wsclient import connect


class _Recorder(asyncio.Transport):
    """A transport that keeps what is written (to compare our frames with aiohttp's own)."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def write(self, data: Any) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 200_000])
async def test_text_frame_is_what_aiohttp_would_send(size: int) -> None:
    payload = b"x" * size
    transport = _Recorder()
    writer = WebSocketWriter(None, transport)  # type: ignore[arg-type]  # server side: unmasked
    await writer.send_frame(payload, aiohttp.WSMsgType.TEXT)
    assert p.text_frame(payload) == bytes(transport.data)


async def test_permessage_deflate_is_declined(client, make_screening) -> None:
    sid = (await make_screening(rows=1, per_row=3))["screening_id"]
    ws = await client.ws_connect(f"/ws/screenings/{sid}", compress=15)  # offers permessage-deflate
    assert ws.compress == 0
    assert (await ws.receive_json())["type"] == "hello"
    await ws.close()


async def test_big_room_flushes_less_often_but_relays_every_event(make_client, make_user, make_screening) -> None:
    # A budget of 100 frames/s: a room of 10 sockets flushes at most every 0.1 s.
    client = await make_client(websocket={"tick_ms": 5, "frames_per_second": 100})
    screening = await make_screening(rows=1, per_row=10, orphan_rule=False)
    sid, seats = screening["screening_id"], screening["seats"]
    hub = client.app[keys.ROOMS]
    user = await make_user()
    holder = await connect(client, sid, token=user["token"])
    assert hub.flush_interval(sid) == pytest.approx(0.01)  # 1 socket: 1/100 s (above the 5 ms tick)
    watchers = [await connect(client, sid) for _ in range(9)]
    assert hub.flush_interval(sid) == pytest.approx(0.1)
    start_v = watchers[0].messages[1]["version"]
    for n in range(1, 6):
        await holder.ok("hold", seats=[seats[f"A{n}"]])
    for w in watchers:
        await w.event(lambda e: e["v"] == start_v + 5)
        assert [e["v"] for e in w.events()] == list(range(start_v + 1, start_v + 6))
    frames = [m for m in watchers[0].messages if m["type"] == "events"]
    assert len(frames) < 5  # five quick holds, coalesced into fewer frames
    for c in (holder, *watchers):
        await c.close()
    assert hub.flush_interval(sid) == pytest.approx(0.005)  # the room is gone: one tick


async def test_snapshots_share_the_room_part_and_keep_their_own_holds(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=8, orphan_rule=False)
    sid, seats = screening["screening_id"], screening["seats"]
    hub = client.app[keys.ROOMS]
    user = await make_user()
    first = await connect(client, sid, token=user["token"])
    held = await first.ok("hold", seats=[seats["A1"], seats["A2"]])
    await first.event(lambda e: e["v"] == held["version"])

    # The room relayed a newer version than any cached snapshot: the next joiner reads a new one.
    watcher = await connect(client, sid)
    snap = watcher.messages[1]
    assert snap["version"] == held["version"] and sorted(snap["held"]) == [seats["A1"], seats["A2"]]
    assert snap["mine"] == [] and snap["deadline"] is None and snap["me"] is None
    assert hub.cached_snapshot_version(sid) == held["version"]

    # Joiners now share that part; each still gets its own holds, deadline and tag.
    again = await connect(client, sid, token=user["token"])  # the same user on a second socket
    other = await connect(client, sid)
    mine, theirs = again.messages[1], other.messages[1]
    assert sorted(mine["mine"]) == [seats["A1"], seats["A2"]] and mine["deadline"] == held["deadline"]
    assert mine["me"] == first.messages[1]["me"] and mine["me"] == again.messages[0]["me"]
    shared = ("version", "held", "sold", "blocked", "houseful", "prices", "counts", "closed", "screening_id")
    assert {k: mine[k] for k in shared} == {k: theirs[k] for k in shared} == {k: snap[k] for k in shared}
    assert theirs["mine"] == [] and theirs["me"] is None and isinstance(theirs["server_time"], int)

    # A change makes the cached part stale: later joiners see it.
    released = await first.ok("release", seats=[seats["A1"]])
    await watcher.event(lambda e: e["v"] == released["version"])
    late = await connect(client, sid)
    assert late.messages[1]["version"] == released["version"] and late.messages[1]["held"] == [seats["A2"]]
    for c in (first, watcher, again, other, late):
        await c.close()


async def test_many_joiners_at_once_get_complete_snapshots(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=2, per_row=10, orphan_rule=False)
    sid, seats = screening["screening_id"], list(screening["seats"].values())
    user = await make_user()
    holder = await connect(client, sid, token=user["token"])
    url = client.make_url(f"/ws/screenings/{sid}")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        joining = asyncio.gather(*(connect(session, sid, url=url) for _ in range(40)))
        last = 0
        for seat in seats[:8]:  # changes while they join
            last = (await holder.ok("hold", seats=[seat]))["version"]
        joiners = await joining
        for j in joiners:
            # Whatever version a joiner's snapshot has, the events after it complete the picture.
            await j.wait_for(lambda m: m["type"] == "snapshot" and m["version"] >= last
                             or m["type"] == "events" and m["events"][-1]["v"] >= last)
            snap = j.messages[1]
            held = set(snap["held"])
            for e in j.events():
                if e["v"] > snap["version"]:
                    held |= set(e["seats"])
            assert held == set(seats[:8])
        await asyncio.gather(*(j.close() for j in joiners))
    await holder.close()


async def test_a_big_room_in_a_rush_waits_longer_between_flushes_but_relays_every_event(
        make_client, make_user, make_screening) -> None:
    # Lowered limits: 3 sockets are a big room, any pending event a rush, 0.5 s between its flushes.
    client = await make_client(websocket={"tick_ms": 5, "busy_room_sockets": 3, "busy_events": 1,
                                          "busy_flush_ms": 500})
    screening = await make_screening(rows=1, per_row=12, orphan_rule=False)
    sid, seats = screening["screening_id"], screening["seats"]
    hub, store = client.app[keys.ROOMS], client.app[keys.HOLDS]
    watchers = [await connect(client, sid) for _ in range(3)]
    assert hub.flush_interval(sid) == pytest.approx(0.005)  # nothing pending: a quiet room is not slowed
    start_v = watchers[0].messages[1]["version"]
    started = time.monotonic()  # before the first flush of the rush
    for wave in range(2):  # two rushes of 6 holds each, every hold of a wave in the same tick
        await asyncio.gather(*(store.hold(sid, f"u{wave}{n}", [seats[f"A{6 * wave + n}"]]) for n in range(1, 7)))
        await watchers[0].event(lambda e, wave=wave: e["v"] == start_v + 6 * (wave + 1))
    # The second rush came right after the first flush: it waited for the busy interval.
    assert time.monotonic() - started >= 0.49
    for w in watchers:
        await w.event(lambda e: e["v"] == start_v + 12)
        assert [e["v"] for e in w.events()] == list(range(start_v + 1, start_v + 13))
        assert len([m for m in w.messages if m["type"] == "events"]) <= 3  # 12 changes, a few full frames
    for w in watchers:
        await w.close()
