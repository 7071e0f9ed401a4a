"""Sockets do not outlive their right: logout, demotion and token expiry close the staff feed (4001,
4003); logout closes a customer's seat-map sockets (4001) while their holds stay until their TTL."""
from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from server import keys
from tests.wsclient import connect

WAIT = 1.0  # a revocation reaches the socket within a second


async def closed_with(ws: aiohttp.ClientWebSocketResponse, seconds: float = WAIT) -> int | None:
    """Read (and skip) frames until the server closes the socket; its close code."""
    async with asyncio.timeout(seconds):
        while (await ws.receive()).type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            pass
    return ws.close_code


async def staff_feed(client: Any, user: dict[str, Any]) -> aiohttp.ClientWebSocketResponse:
    """An open staff dashboard socket, past its hello and first list."""
    await client.app[keys.REVOCATIONS].ready.wait()
    ws = await client.ws_connect("/ws/dashboard", headers=user["headers"])
    assert (await ws.receive_json())["type"] == "hello"
    assert (await ws.receive_json())["type"] == "occupancy"
    return ws


async def test_logout_closes_the_staff_feed(client, make_user) -> None:
    staff, colleague = await make_user("staff"), await make_user("staff")
    ws, other = await staff_feed(client, staff), await staff_feed(client, colleague)
    assert (await client.post("/api/auth/logout", headers=staff["headers"])).status == 204
    assert await closed_with(ws) == 4001
    assert not other.closed  # another user's feed goes on
    await other.close()


async def test_demotion_closes_the_staff_feed_with_forbidden(client, make_user) -> None:
    admin, staff = await make_user("admin"), await make_user("staff")
    ws = await staff_feed(client, staff)
    resp = await client.patch(f"/api/users/{staff['id']}", json={"role": "customer"}, headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    assert await closed_with(ws) == 4003


async def test_an_expired_token_closes_the_staff_feed(client, make_user, clock, settings) -> None:
    staff = await make_user("staff")
    ws = await staff_feed(client, staff)
    clock.advance(settings.auth.access_token_seconds + 1)
    assert await closed_with(ws, 3.0) == 4001  # the expiry sweep runs every second


async def test_logout_closes_seat_maps_but_keeps_holds(client, make_user, make_screening) -> None:
    built = await make_screening()
    sid, seat = built["screening_id"], built["seats"]["A1"]
    buyer, other = await make_user(), await make_user()
    await client.app[keys.REVOCATIONS].ready.wait()
    room, bystander = await connect(client, sid, token=buyer["token"]), await connect(client, sid, token=other["token"])
    await room.ok("hold", seats=[seat])
    assert (await client.post("/api/auth/logout", headers=buyer["headers"])).status == 204
    assert await room.wait_closed(WAIT) == 4001
    assert (await client.app[keys.HOLDS].snapshot(sid, f"u{buyer['id']}"))["mine"] == [seat]
    await bystander.ok("ping")
    await bystander.close()
