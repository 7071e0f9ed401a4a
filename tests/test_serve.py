"""`run.py serve` as real processes: one port per server, supervised workers, a clean stop.

The spawned servers use the run's database and Redis prefix (through HOUSEFUL_* variables) and
the test's clock (through the testing-only HOUSEFUL_TESTING_CLOCK_OFFSET_SECONDS).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import socket
import sys
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import orjson
import pytest

from server.clock import TESTING_OFFSET_ENV, ShiftedClock
from server.config import ROOT, Settings
from tests.support.clocks import INSTANTS
from tests.support.stores import free_port

START_SECONDS = 60.0  # a cold start migrates and imports everything; the machine may be busy
SERVING = re.compile(r"worker (\d+) serving on")


class Server:
    """A `run.py serve` process whose log lines are collected as they come."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc, self.port = proc, port
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    def matches(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """Every log line matching so far."""
        return [m for line in self.lines if (m := pattern.search(line))]

    async def until(self, pattern: re.Pattern[str], count: int = 1, timeout: float = START_SECONDS) -> list[re.Match[str]]:
        """Wait until `count` log lines match (or the process ends first: then fail with its log)."""
        async with asyncio.timeout(timeout), self._changed:
            while len(self.matches(pattern)) < count:
                if self._reader.done():
                    raise AssertionError("server ended early:\n" + "\n".join(self.lines))
                await self._changed.wait()
        return self.matches(pattern)

    def worker_pids(self) -> list[int]:
        """Pids of the workers that said they were serving, in order."""
        return [int(m.group(1)) for m in self.matches(SERVING)]

    async def ended(self, timeout: float = 30.0) -> int:
        """The exit status, once the process has ended."""
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._reader
        return code

    async def health(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{self.port}/api/health") as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
async def spawn(settings: Settings, clock: ShiftedClock) -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """Start `run.py serve` on the run's stores and the test's clock; every one is gone afterwards."""
    started: list[Server] = []
    env = {
        **os.environ,
        "HOUSEFUL_DATABASE_URL": settings.database.url,
        "HOUSEFUL_REDIS_KEY_PREFIX": settings.redis.key_prefix,
        "HOUSEFUL_AUTH_JWT_SECRET": settings.auth.jwt_secret,
        "HOUSEFUL_SERVER_LOG_LEVEL": "INFO",
        **({TESTING_OFFSET_ENV: str(clock.offset)} if clock.offset else {}),
    }

    async def start(port: int, workers: int = 1, **extra_env: str) -> Server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "run.py", "serve", "--port", str(port), "--workers", str(workers), cwd=ROOT,
            env={**env, **extra_env},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        server = Server(proc, port)
        started.append(server)
        return server

    yield start
    for server in started:
        pids = [server.proc.pid, *server.worker_pids()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await server.proc.wait()
        server._reader.cancel()


async def test_a_second_server_on_a_busy_port_fails_clearly(spawn: Any) -> None:
    port = free_port()
    first = await spawn(port, workers=2)
    await first.until(SERVING, 2)
    second = await spawn(port)  # a lone server may not join the first one's workers
    assert await second.ended() == 1
    assert any("address already in use" in line for line in second.lines), second.lines
    assert (await first.health())["status"] == "ok"  # the first one serves on, alone
    first.proc.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly
    assert await first.ended() == 0


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_port_held_by_anything_else_is_refused(spawn: Any, workers: int) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        server = await spawn(other.getsockname()[1], workers=workers)
        assert await server.ended() == 1
    assert any("address already in use" in line for line in server.lines), server.lines
    assert server.worker_pids() == []  # nothing was started


@pytest.mark.parametrize("clock", [INSTANTS["jul-2355utc"]], ids=["jul-2355utc"], indirect=True)
async def test_workers_share_the_port_a_dead_one_is_replaced_and_sigterm_stops_all(
    spawn: Any, clock: ShiftedClock
) -> None:
    server = await spawn(free_port(), workers=2)
    await server.until(SERVING, 2)
    first, second = server.worker_pids()
    # The testing-only clock reached the workers, and they say so loudly.
    health = await server.health()
    assert abs(dt.datetime.fromisoformat(health["time"]).timestamp() - clock.time()) < 60
    assert "testing only" in health["clock"]
    assert len([line for line in server.lines if "TESTING ONLY" in line]) >= 3  # the parent and each worker

    os.kill(first, signal.SIGKILL)
    await server.until(re.compile(rf"worker \d \(pid {first}\) exited with signal SIGKILL .* restarting it in"))
    await server.until(SERVING, 3)
    replacement = server.worker_pids()[2]
    assert replacement not in (first, second) and alive(second)
    assert (await server.health())["status"] == "ok"

    server.proc.send_signal(signal.SIGTERM)
    assert await server.ended() == 0
    assert not alive(second) and not alive(replacement)


async def test_json_logs_carry_each_requests_id_into_the_access_log(spawn: Any) -> None:
    server = await spawn(free_port(), HOUSEFUL_SERVER_LOG_FORMAT="json", HOUSEFUL_SERVER_ACCESS_LOG="true")
    await server.until(SERVING)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{server.port}/api/health", headers={"X-Request-Id": "lb-7f3a"}) as resp:
            assert (resp.status, resp.headers["X-Request-Id"]) == (200, "lb-7f3a")
        async with http.get(f"http://127.0.0.1:{server.port}/api/movies/0",
                            headers={"X-Request-Id": "not a token\u00e9"}) as resp:
            minted = resp.headers["X-Request-Id"]  # a caller's id that is not a short token is replaced
            assert resp.status == 404 and re.fullmatch(r"[0-9a-f]{16}", minted)
    await server.until(re.compile(minted))
    entries = [orjson.loads(line) for line in server.lines]  # every line is one JSON object
    access = {e["request_id"]: e for e in entries if e["logger"] == "houseful.access"}
    assert {k: access["lb-7f3a"][k] for k in ("method", "path", "status")} == {
        "method": "GET", "path": "/api/health", "status": 200}
    assert (access[minted]["status"], access[minted]["path"]) == (404, "/api/movies/0")
    assert access["lb-7f3a"]["duration_ms"] >= 0 and access["lb-7f3a"]["remote"] == "127.0.0.1"
    server.proc.send_signal(signal.SIGTERM)
    assert await server.ended() == 0


async def test_metrics_add_up_every_workers_requests(spawn: Any) -> None:
    server = await spawn(free_port(), workers=2)
    await server.until(SERVING, 2)
    for _ in range(12):  # a new connection each time, so both workers serve some
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            async with http.get(f"http://127.0.0.1:{server.port}/api/health") as resp:
                assert resp.status == 200
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{server.port}/metrics") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
            text = await resp.text()
    served = re.search(r'houseful_http_requests_total\{method="GET",route="/api/health",status="200"\} (\S+)', text)
    assert served is not None and float(served.group(1)) == 12, text
    server.proc.send_signal(signal.SIGTERM)
    assert await server.ended() == 0
