"""Unfinished and surplus connections: slow headers, silent and slow-body connections are closed in
time, one IP cannot open more than its cap, and one user's sockets share one command budget.

The limits are lowered for each test (server.*, websocket.user_*), never waited out at their defaults.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests.wsclient import connect

IDLE = 0.5  # server.idle_timeout_seconds in these tests


async def _open(client: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(client.server.host, client.server.port)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sends until it closes the connection (fails if it stays open)."""
    return await asyncio.wait_for(reader.read(), seconds)


async def test_trickled_header_lines_are_cut_off(make_client) -> None:
    client = await make_client(server={"idle_timeout_seconds": IDLE})
    reader, writer = await _open(client)
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:  # the attack: a header line now and then, never the blank line
        for n in range(100):
            await asyncio.sleep(0.1)
            writer.write(b"X-Slow-%d: 1\r\n" % n)

    started = time.monotonic()
    attack = asyncio.create_task(trickle())
    try:
        assert await _closed_within(reader, 5.0) == b""
    finally:
        attack.cancel()
        writer.close()
    assert time.monotonic() - started < IDLE + 1.5


async def test_a_silent_connection_is_closed(make_client) -> None:
    client = await make_client(server={"idle_timeout_seconds": IDLE})
    reader, writer = await _open(client)
    try:
        assert await _closed_within(reader, 5.0) == b""
    finally:
        writer.close()


async def test_a_body_that_never_arrives_gets_408(make_client) -> None:
    client = await make_client(server={"body_timeout_seconds": 0.3})
    reader, writer = await _open(client)
    writer.write(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 200\r\n\r\n{\"email\":")
    try:
        answer = await asyncio.wait_for(reader.read(4096), 5.0)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b'"request_timeout"' in answer


async def test_one_ip_gets_at_most_its_cap_of_connections(make_client, make_screening) -> None:
    client = await make_client(server={"connections_per_ip": 3, "uncapped_ips": []})
    sid = (await make_screening())["screening_id"]
    sockets = [await connect(client, sid) for _ in range(3)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"/ws/screenings/{sid}")
    assert refused.value.status == 429
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        async with session.get(client.make_url("/api/health")) as resp:
            assert resp.status == 429
            assert (await resp.json())["error"]["code"] == "too_many_connections"
    # The open sockets are untouched.
    for room in sockets:
        assert (await room.ok("ping")) is not None
        await room.close()


@pytest.mark.parametrize("burst", [10, 40])  # 40: the budget is taken in leases of several tokens
async def test_one_users_sockets_share_one_command_budget(make_client, make_screening, make_user, burst: int) -> None:
    client = await make_client(websocket={"user_commands_per_second": 1, "user_command_burst": burst})
    sid = (await make_screening())["screening_id"]
    greedy, other = await make_user(), await make_user()
    rooms = [await connect(client, sid, token=greedy["token"]) for _ in range(20)]
    bystander = await connect(client, sid, token=other["token"])
    started = time.monotonic()
    sent = [(room, await room.send("ping")) for room in rooms for _ in range(3)]  # 60, 3 per socket
    replies = [await room.result(msg_id) for room, msg_id in sent]
    elapsed = time.monotonic() - started
    granted = sum(reply["success"] for reply in replies)
    assert granted <= burst + elapsed * 1 + 1
    refused = [reply["error"]["code"] for reply in replies if not reply["success"]]
    assert refused and set(refused) == {"rate_limited"}
    for _ in range(5):  # another user is not affected
        await bystander.ok("ping")
    assert all(not room.closed.is_set() for room in rooms)  # refused, not disconnected
    for room in (*rooms, bystander):
        await room.close()
