"""The waiting room under a burst of arrivals: joins batched into one Redis round trip, the load tool's lean socket.

Real server, Redis and PostgreSQL, real sockets. The throughput itself is measured by
bench/waiting_room_bench.py, never here.
"""
from __future__ import annotations

import asyncio
import secrets
from typing import Any

import orjson
import pytest

from loadtest.wsproto import HandshakeError, open_socket
from server import keys
from server.live import lines
from tests.test_waiting_room import FAST, frame, line, policy


@pytest.fixture
async def wr_client(make_client: Any) -> Any:
    return await make_client(waiting_room=FAST)


async def test_joins_asked_in_the_same_tick_keep_their_order_and_one_place_per_account(
        wr_client: Any, make_user: Any, make_screening: Any) -> None:
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin = await make_user("admin")
    users = [await make_user() for _ in range(30)]
    await policy(wr_client, admin, sid, mode="always", admit_per_second=1, paused=True)
    store = wr_client.server.app[keys.LINE]
    # Every join is asked before any reply comes: they travel in one batch.
    replies = await asyncio.gather(*(store.join(sid, u["id"]) for u in users),
                                   *(store.join(sid, u["id"]) for u in users[:10]))  # second tabs
    numbers = [r["number"] for r in replies[:30]]
    assert numbers == list(range(1, 31))  # in the order asked: first come, first served
    assert [r["number"] for r in replies[30:]] == numbers[:10]  # a second tab keeps its place


async def test_a_burst_of_waiting_sockets_gets_distinct_places(wr_client: Any, make_user: Any,
                                                                make_screening: Any) -> None:
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin = await make_user("admin")
    users = [await make_user() for _ in range(12)]
    await policy(wr_client, admin, sid, mode="always", admit_per_second=1, paused=True)
    tabs = [await line(wr_client, sid, u) for u in users] + [await line(wr_client, sid, users[0])]
    ids = [await tab.send("join") for tab in tabs]  # all sent before any reply is read
    replies = [await tab.wait_for(lambda m, i=i: m.get("id") == i) for tab, i in zip(tabs, ids)]
    numbers = [r["result"]["number"] for r in replies]
    assert sorted(numbers[:12]) == list(range(1, 13))
    assert numbers[12] == numbers[0]  # the same account's second tab
    for tab in tabs:
        await tab.close()


async def test_a_long_lines_frame_reaches_every_waiting_socket_slice_by_slice(
        wr_client: Any, make_user: Any, make_screening: Any, clock: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(lines, "SLICE", 3)  # 10 sockets: four slices, the last one short
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin = await make_user("admin")
    await policy(wr_client, admin, sid, mode="always", admit_per_second=1, paused=True)
    tabs = [await line(wr_client, sid, await make_user()) for _ in range(10)]
    for tab in tabs:
        await tab.ok("join")
    since = clock.ms()
    for tab in tabs:  # every one gets the round's frame, and more rounds follow
        await tab.wait_for(frame(lambda m: m["server_time"] >= since + 200))
    for tab in tabs:
        await tab.close()


async def test_the_load_tools_lean_socket_speaks_the_line_protocol(wr_client: Any, make_user: Any,
                                                                   make_screening: Any) -> None:
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin, ann = await make_user("admin"), await make_user()
    await policy(wr_client, admin, sid, mode="always", admit_per_second=1, paused=True)
    url = str(wr_client.make_url(f"/ws/screenings/{sid}/line")).replace("http", "ws", 1)
    got: list[dict[str, Any]] = []
    arrived, closed = asyncio.Event(), asyncio.Event()

    def on_text(data: bytes) -> None:
        got.append(orjson.loads(data))
        arrived.set()

    sock = await open_socket(url, {"Authorization": f"Bearer {ann['token']}"}, on_text, closed.set, timeout=10)
    sock.send_text(orjson.dumps({"id": 1, "type": "join"}))
    async with asyncio.timeout(10):
        while not any(m.get("id") == 1 for m in got):
            arrived.clear()
            await arrived.wait()
        while not any(m.get("type") == "line" for m in got):  # the shared frame of the next tick
            arrived.clear()
            await arrived.wait()
    reply = next(m for m in got if m.get("id") == 1)
    assert reply["success"] and reply["result"]["number"] == 1
    sock.close()
    await asyncio.wait_for(closed.wait(), 10)

    with pytest.raises(HandshakeError, match="404"):  # no such screening: refused before the upgrade
        await open_socket(url.replace(f"/{sid}/", "/999999/"), {}, on_text, lambda: None, timeout=10)


async def test_calls_asked_while_a_pipeline_is_out_get_their_answers_in_order(settings: Any) -> None:
    from redis.asyncio import Redis

    from server.live.batch import ScriptBatcher

    redis = Redis.from_url(settings.redis.url)
    key = f"{settings.redis.key_prefix}test:in-flight:{secrets.token_hex(4)}"
    try:
        sha = await redis.script_load("return redis.call('INCR', KEYS[1])")
        batcher = ScriptBatcher(redis, label="line", in_flight=1)
        calls = []
        for _ in range(60):  # one call per loop tick, as arrivals come (each its own read event)
            calls.append(asyncio.create_task(batcher.evalsha(sha, [key], [])))
            await asyncio.sleep(0)
        assert await asyncio.gather(*calls) == list(range(1, 61))  # every caller its own answer, in order
    finally:
        await redis.delete(key)
        await redis.aclose()
