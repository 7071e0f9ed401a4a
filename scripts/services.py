#!/usr/bin/env python3
"""Make PostgreSQL and Redis reachable at the configured URLs (stdlib + PyYAML only).

`up`: for each store, if something answers at the configured host:port, use it. Otherwise,
when the host is loopback, install the Debian package if its binaries are missing and start a
private server under .data/ on that port. `down`: stop only the private servers started here.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import load_settings  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if reachable(host, port):
            return
        time.sleep(0.2)
    sys.exit(f"{what} did not come up on {host}:{port}")


def apt_install(package: str) -> None:
    if os.geteuid() != 0:
        sys.exit(f"{package} is not installed and this is not root: install it (apt-get install {package})")
    print(f"installing {package} from Debian packages ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env)


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1]


def as_postgres(cmd: list[str]) -> list[str]:
    # initdb and pg_ctl refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres(data: Path, host: str, port: int) -> None:
    pgdata, sock = data / "pg", data / "pg-socket"
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    sock.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        uid = pwd.getpwnam("postgres").pw_uid
        os.chown(data, uid, -1)
        os.chown(sock, uid, -1)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(pgdata, pwd.getpwnam("postgres").pw_uid, -1)
        subprocess.run(as_postgres([initdb, "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                       check=True, stdout=subprocess.DEVNULL)
    opts = f"-p {port} -k {sock} -c listen_addresses={host or '127.0.0.1'}"
    subprocess.run(as_postgres([pg_ctl, "-D", str(pgdata), "-l", str(data / "pg.log"), "-o", opts, "-w", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    (data / "pg.started").write_text(str(pgdata))
    print(f"started private PostgreSQL on {host}:{port} (data in {pgdata})")


def start_redis(data: Path, host: str, port: int) -> None:
    # No persistence, on purpose: Redis holds only live state that may be lost (money lives in
    # PostgreSQL); an empty restart is the tested case (docs/faults.md).
    if not shutil.which("redis-server"):
        apt_install("redis-server")
    rdir = data / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["redis-server", "--port", str(port), "--bind", host or "127.0.0.1", "--daemonize", "yes",
                    "--dir", str(rdir), "--pidfile", str(rdir / "redis.pid"), "--logfile", str(rdir / "redis.log"),
                    "--save", "", "--appendonly", "no"], check=True)
    wait_for(host, port, "Redis")
    (data / "redis.started").write_text(str(rdir / "redis.pid"))
    print(f"started private Redis on {host}:{port}")


def up() -> None:
    settings = load_settings()
    data = ROOT / settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    for what, url, default_port, start in (
        ("PostgreSQL", settings.database.url, 5432, start_postgres),
        ("Redis", settings.redis.url, 6379, start_redis),
    ):
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or default_port
        if reachable(host, port):
            print(f"{what}: using the server at {host}:{port}")
            continue
        if host not in LOOPBACK:
            sys.exit(f"{what} is not reachable at {host}:{port} and is not local, so it cannot be started here")
        start(data, host, port)


def down() -> None:
    data = ROOT / load_settings().data_dir
    marker = data / "pg.started"
    if marker.exists():
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", marker.read_text(), "-m", "fast", "stop"]), check=False)
        marker.unlink()
        print("stopped private PostgreSQL")
    marker = data / "redis.started"
    if marker.exists():
        pidfile = Path(marker.read_text())
        if pidfile.exists():
            try:
                pid = int(pidfile.read_text())
                os.kill(pid, 15)
                for _ in range(100):  # return only once it has gone (at most 10 s)
                    os.kill(pid, 0)
                    time.sleep(0.1)
            except (ProcessLookupError, ValueError):
                pass
        marker.unlink()
        print("stopped private Redis")


if __name__ == "__main__":
    {"up": up, "down": down}[sys.argv[1] if len(sys.argv) > 1 else "up"]()
