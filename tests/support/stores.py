"""Private PostgreSQL and Redis processes, and a real Houseful server on them, for fault tests.

Never the shared servers: each store is its own process on a free loopback port, with its data in
a temporary folder, so a test may kill -9 it or stop it mid-burst. Every process is stopped by its
own pid when the test ends. PostgreSQL binaries are found as scripts/services.py finds them.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import aiohttp

from scripts.redis_cluster import LocalRedisCluster
from scripts.services import as_postgres, pg_bin
from server.config import ROOT

START_SECONDS = 30.0  # longest a store or the server may take to answer after a start


def free_port() -> int:
    """A TCP port nothing listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def _until(check: Any, what: str, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g}s")
        await asyncio.sleep(0.05)


class PrivateRedis:
    """A redis-server without persistence, as `make run` starts one: a restart comes back empty."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start (or restart, on the same port) and wait until it answers."""
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        async def up() -> bool:
            return _answers(self.port)
        await _until(up, "private Redis start")

    def kill9(self) -> None:
        """kill -9: gone at once, everything in memory lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill9()


class PrivatePostgres:
    """A PostgreSQL cluster initialised into a temporary folder (fsync off: test data only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.data = folder / "pg"
        self.sock = folder / "sock"
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/houseful"

    def init(self) -> None:
        """initdb (as the postgres user when run as root: initdb refuses root)."""
        self.data.mkdir(parents=True)
        self.sock.mkdir()
        if os.geteuid() == 0:
            uid = pwd.getpwnam("postgres").pw_uid
            for path in (self.folder, self.data, self.sock):
                os.chown(path, uid, -1)
        subprocess.run(as_postgres([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                                    "-E", "UTF8", "--no-sync"]), check=True, stdout=subprocess.DEVNULL)

    def _ctl(self, *args: str) -> None:
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), *args]), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        """Start and wait until it accepts connections (pg_ctl -w)."""
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._ctl("-l", str(self.folder / "pg.log"), "-o", opts, "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: `fast` ends every session at once (as an operator's restart does)."""
        if self.running:
            self._ctl("-m", mode, "-w", "stop")
            self.running = False


class HousefulServer:
    """`python run.py serve` in its own process against the private stores."""

    def __init__(self, folder: Path, database_url: str, redis_url: str, **settings: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.jwt_secret = secrets.token_hex(32)
        self.admin_email, self.admin_password = "admin@faults.test", "fault-" + secrets.token_hex(8)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOUSEFUL_")},
            "HOUSEFUL_DATABASE_URL": database_url, "HOUSEFUL_REDIS_URL": redis_url,
            "HOUSEFUL_REDIS_KEY_PREFIX": "houseful:", "HOUSEFUL_AUTH_JWT_SECRET": self.jwt_secret,
            "HOUSEFUL_ADMIN_EMAIL": self.admin_email, "HOUSEFUL_ADMIN_PASSWORD": self.admin_password,
            "HOUSEFUL_SERVER_LOG_LEVEL": "WARNING", **settings,
        }
        self.log = folder / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "run.py", "serve", "--port", str(self.port)], cwd=ROOT,
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT)
        await _until(self.healthy, "Houseful server start")

    async def healthy(self) -> bool:
        """GET /api/health answers 200 (both stores reachable from the server)."""
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the server exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
        try:
            async with aiohttp.ClientSession() as http, http.get(self.base + "/api/health",
                                                                  timeout=aiohttp.ClientTimeout(total=3)) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def temp_folder() -> Path:
    """A folder the postgres user may own (pytest's tmp_path sits under a root-only directory)."""
    return Path(tempfile.mkdtemp(prefix="houseful-faults-"))


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def local_redis_cluster() -> Iterator[LocalRedisCluster]:
    """A Redis Cluster of our own (3 primaries, 3 replicas, free ports) in a temporary folder,
    stopped by its pids and removed afterwards."""
    folder = temp_folder()
    cluster = LocalRedisCluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        remove(folder)
