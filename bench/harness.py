"""What every benchmark needs: a private database and prefix, a pinned server process, histograms."""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import aiohttp
from hdrh.histogram import HdrHistogram

from server import db
from server.config import ROOT, Settings, load_settings
from server.gc_tuning import tune_for_serving

CORES = os.cpu_count() or 1
SERVER_CPU = 0
LOAD_CPU = 1 if CORES > 1 else 0


def load_tool(cpu: int = LOAD_CPU) -> str:
    """Make this process the load tool: pinned to one core where the OS allows it, and its garbage
    collector set as a worker's (it holds as many sockets: with the defaults, 10,000 waiting
    sockets set off full collections of 250-540 ms in a rush, each a stall in every client-side
    figure). Returns what was pinned."""
    tune_for_serving()
    try:
        os.sched_setaffinity(0, {cpu})
        return f"core {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def histogram() -> HdrHistogram:
    """Latencies in microseconds, 1 µs .. 100 s, 3 significant digits."""
    return HdrHistogram(1, 100_000_000, 3)


def percentiles_ms(h: HdrHistogram) -> dict[str, float]:
    """p50/p90/p99/p99.9/max in milliseconds."""
    if h.get_total_count() == 0:
        return {"count": 0}
    out = {f"p{p:g}": h.get_value_at_percentile(p) / 1000 for p in (50, 90, 99, 99.9)}
    out["max"] = h.get_max_value() / 1000
    out["count"] = h.get_total_count()
    return out


@dataclass
class BenchEnv:
    """A private database URL, Redis prefix and JWT secret for one benchmark run."""

    settings: Settings
    env: dict[str, str]


@contextlib.asynccontextmanager
async def bench_env(**overrides: dict) -> AsyncIterator[BenchEnv]:
    """Create houseful_bench_<random> and a private Redis prefix; drop both afterwards."""
    base = load_settings()
    run = secrets.token_hex(4)
    url = db._with_database(base.database.url, f"houseful_bench_{run}")
    secret = secrets.token_urlsafe(32)
    sections: dict[str, dict] = {k: dict(v) for k, v in overrides.items()}
    sections.setdefault("database", {})["url"] = url
    sections.setdefault("redis", {})["key_prefix"] = f"hfbench:{run}:"
    sections.setdefault("auth", {})["jwt_secret"] = secret
    settings = base.replace(**sections)
    await db.ensure_database(url)
    await db.migrate(url)
    env = {
        "HOUSEFUL_DATABASE_URL": url,
        "HOUSEFUL_REDIS_KEY_PREFIX": settings.redis.key_prefix,
        "HOUSEFUL_AUTH_JWT_SECRET": secret,
        "HOUSEFUL_SERVER_LOG_LEVEL": "WARNING",
    }
    for section, values in overrides.items():
        for key, value in values.items():
            env[f"HOUSEFUL_{section.upper()}_{key.upper()}"] = str(value)
    try:
        yield BenchEnv(settings, env)
    finally:
        await db.drop_database(url)
        from server.redis_client import delete_prefix

        await delete_prefix(settings.redis.url, settings.redis.key_prefix)


@contextlib.contextmanager
def server_process(argv: list[str], env: dict[str, str], cpu: int | None = SERVER_CPU) -> Iterator[subprocess.Popen]:
    """Start a server process (pinned with taskset when possible); always stopped by its pid."""
    cmd = list(argv)
    if cpu is not None and CORES > 1:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    # stderr goes to a file, not a pipe: a pipe nobody reads fills up (64 KiB of warnings under load)
    # and then blocks the server in its logging call, which looks like a server that stopped serving.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    proc.log = log  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        log.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_http(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    """Wait until url answers 200, or fail with the server's stderr."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {_tail(proc)}")
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _tail(proc: subprocess.Popen) -> str:
    """The end of a server's stderr (kept in a file by server_process)."""
    log = getattr(proc, "log", None)
    if log is None:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]


def houseful_server(env: BenchEnv, port: int, workers: int = 1) -> list[str]:
    """argv of a Houseful server on port (through bench.launch, which raises the open-file limit)."""
    return [sys.executable, "-m", "bench.launch", "serve", "--port", str(port), "--workers", str(workers)]


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def scrape_server(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    """The worker's own figures: holds refused in the room, and the hold-ack and fan-out-lag buckets."""
    async with session.get(base + "/metrics") as resp:
        text = await resp.text()
    found = re.search(r"^houseful_holds_refused_in_room_total (\S+)$", text, re.MULTILINE)

    def buckets(name: str, labels: str) -> dict[float, float]:
        pattern = rf'^{name}_bucket\{{{labels}le="([^"]+)"\}} (\S+)$'
        return {float(le): float(n) for le, n in re.findall(pattern, text, re.MULTILINE)}

    return {"here": int(float(found.group(1))) if found else 0,
            "ack": buckets("houseful_ws_command_seconds", 'command="hold",kind="room",'),
            "lag": buckets("houseful_fanout_lag_seconds", "")}


def p99_ms(before: dict[float, float], after: dict[float, float]) -> float | None:
    """The 99th percentile of what a histogram observed between two scrapes: its bucket's bound (ms)."""
    counts = sorted((le, n - before.get(le, 0.0)) for le, n in after.items())  # cumulative, by bound
    total = counts[-1][1] if counts else 0.0
    for le, n in counts:
        if total and n >= 0.99 * total:
            return le * 1000
    return None
