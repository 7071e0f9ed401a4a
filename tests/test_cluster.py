"""Several nodes behind a real HAProxy (scripts/cluster.py, as `make cluster` runs it).

Two Houseful nodes share the run's PostgreSQL and Redis; HAProxy ends TLS in front of them.
A hold made on one node reaches a seat map on the other; a node drained during sales closes
its seat maps with 1001 and their browsers, reconnecting through HAProxy, land on the other
node with a correct snapshot.
"""
from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from scripts.redis_cluster import free_port
from server.config import ROOT, Settings
from tests.wsclient import RoomClient, connect

GOING_AWAY = 1001


class Cluster:
    def __init__(self, state: Path, env: dict[str, str], ports: dict[str, int]) -> None:
        self.state, self.env, self.ports = state, env, ports

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.ports['https']}"

    def node(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports['first'] + n - 1}"

    async def run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "scripts/cluster.py", "--state", str(self.state), *args, cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 240)
        assert proc.returncode == 0, out.decode()
        return out.decode()


async def _answers(room: RoomClient) -> bool:
    """True if the socket still answers a ping; False once it has closed (the drained node's)."""
    try:
        await room.result(await room.send("ping"))
        return True
    except (ConnectionError, aiohttp.ClientError):  # the close came first (ClientError: while sending)
        await room.wait_closed()
        return False


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
async def cluster(settings: Settings, tmp_path: Path) -> AsyncIterator[Cluster]:
    # Below the ephemeral range (scripts/redis_cluster.py): the Redis Cluster that `up` starts first
    # opens many connections whose local ports could otherwise take the nodes' ports.
    first = free_port(count=2)
    https = free_port(frozenset({first, first + 1}))
    ports = {"https": https, "http": free_port(frozenset({first, first + 1, https})), "first": first}
    env = {**os.environ, "HOUSEFUL_DATABASE_URL": settings.database.url,
           "HOUSEFUL_REDIS_KEY_PREFIX": settings.redis.key_prefix,
           "HOUSEFUL_AUTH_JWT_SECRET": settings.auth.jwt_secret, "HOUSEFUL_SERVER_LOG_LEVEL": "WARNING"}
    c = Cluster(tmp_path / "cluster", env, ports)
    await c.run("up", "--nodes", "2", "--https-port", str(ports["https"]), "--http-port", str(ports["http"]),
                "--first-port", str(first))
    try:
        yield c
    finally:
        await c.run("down")


async def test_tls_at_haproxy_a_hold_crosses_nodes_and_a_drained_node_hands_its_maps_over(
        cluster: Cluster, make_user, make_screening) -> None:
    s = await make_screening(rows=1, per_row=6)
    sid, seats = s["screening_id"], s["seats"]
    ann, bob = await make_user(), await make_user()
    async with aiohttp.ClientSession() as http:
        async with http.get(cluster.https + "/api/health", ssl=False) as resp:
            assert resp.status == 200 and resp.headers["Strict-Transport-Security"].startswith("max-age=")
        async with http.get(f"http://127.0.0.1:{cluster.ports['http']}/api/health", allow_redirects=False) as resp:
            assert resp.status == 301 and resp.headers["Location"].startswith(cluster.https)

        # A hold on node 1 shows on a seat map served by node 2.
        holder = await connect(http, sid, token=ann["token"], url=f"{cluster.node(1)}/ws/screenings/{sid}")
        watcher = await connect(http, sid, url=f"{cluster.node(2)}/ws/screenings/{sid}")
        await holder.ok("hold", seats=[seats["A1"]])
        seen = await watcher.event(lambda e: e["type"] == "held")
        assert seen["seats"] == [seats["A1"]]
        await watcher.close()

        # Seat maps through HAProxy spread over both nodes; draining node 1 moves its maps to node 2.
        wss = f"wss://127.0.0.1:{cluster.ports['https']}/ws/screenings/{sid}"
        maps: list[RoomClient] = [await connect(http, sid, token=bob["token"], url=wss, ssl=False) for _ in range(4)]
        await cluster.run("drain", "node1")  # returns once node 1 has stopped
        await holder.wait_closed()
        assert holder.close_code == GOING_AWAY
        alive = [await _answers(m) for m in maps]
        moved = [m for m, up in zip(maps, alive) if not up]
        assert moved and len(moved) < len(maps)  # those on node 2 never noticed
        # Node 1 said 1001; behind the proxy a client may see the connection end right after it.
        assert all(m.close_code in (GOING_AWAY, 1006) for m in moved)
        for _ in moved:  # as a browser does: reconnect to the same address, get a fresh snapshot
            again = await connect(http, sid, token=bob["token"], url=wss, ssl=False)
            snap = again.messages[1]
            assert snap["type"] == "snapshot" and seats["A1"] in snap["held"]
            await again.close()
        for m in maps:
            if not m.closed.is_set():
                await m.close()
