#!/usr/bin/env python3
"""A local Redis Cluster from Debian's redis-server: 3 primaries, 3 replicas, loopback, no persistence.

Used by `make cluster` (scripts/cluster.py) and by the tests (tests/support/redis_cluster.py's
session fixture). Every node gets two ports the OS reports free (client and cluster bus, so
several test runs can start clusters at once), its own folder, and is stopped by its pid.
`cluster-node-timeout` is short (1.5 s) so a killed primary's replica is promoted quickly;
`cluster-require-full-coverage no` keeps the other shards answering while one is failing over.
"""
from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from scripts.services import apt_install

START_SECONDS = 30.0
NODE_TIMEOUT_MS = 1500


def free_port(avoid: frozenset[int] = frozenset(), count: int = 1) -> int:
    """The first of `count` consecutive loopback TCP ports nothing uses now, none in `avoid`.

    Picked at random below the kernel's ephemeral range: every outgoing connection (a cluster
    node's bus links, other test runs' clients) takes its local port from that range, so a port
    the OS reports free there may be taken by one before our server binds it.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    pick = random.SystemRandom()
    while True:
        base = pick.randrange(10_000, max(low, 10_001 + count) - count)
        ports = range(base, base + count)
        if not avoid.intersection(ports) and all(_bindable(port) for port in ports):
            return base


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalRedisCluster:
    """Six redis-server processes joined by `redis-cli --cluster create` (1 replica per primary)."""

    def __init__(self, folder: Path, primaries: int = 3, replicas: int = 1,
                 node_timeout_ms: int = NODE_TIMEOUT_MS, avoid: frozenset[int] = frozenset()) -> None:
        self.folder = folder
        self.avoid = avoid  # ports the caller will bind later (free now, so the OS might offer them)
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = []
        for _ in range(primaries * (1 + replicas)):
            self.ports.append(free_port(avoid | set(self.ports)))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """Houseful's setting for it: redis+cluster://host:port,host:port,..."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values()]

    def start(self) -> None:
        """Start every node, join them into a cluster and wait until every slot is served."""
        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            apt_install("redis-server")  # Debian's package (as root), as scripts/services.py does
        for port in self.ports:
            self.start_node(port)
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                        "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=60)
        self.wait_ok()

    def start_node(self, port: int) -> None:
        """(Re)start one node on its port; a restarted node keeps its nodes.conf and rejoins."""
        folder = self.folder / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        self.procs[port] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-port", str(self._bus_port(port)), "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(self.node_timeout_ms), "--cluster-require-full-coverage", "no",
             "--save", "", "--appendonly", "no", "--dir", str(folder), "--logfile", str(folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._until(lambda: self._ping(port), f"redis node {port} start")

    def _bus_port(self, port: int) -> int:
        path = self.folder / f"{port}.bus"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(str(free_port(self.avoid | set(self.ports))))
        return int(path.read_text())

    def wait_ok(self, seconds: float = START_SECONDS) -> None:
        """Until every live node says cluster_state:ok and every primary has a synced replica."""
        def ok() -> bool:
            if not all(self._slot_ok(port) for port in self.alive()):
                return False
            return all(self.replica_synced(port) for port in self.primaries()) if self.replicas else True
        self._until(ok, "Redis Cluster ready", seconds)

    def alive(self) -> list[int]:
        return [port for port, proc in self.procs.items() if proc.poll() is None]

    def primaries(self) -> list[int]:
        """Ports of the live primaries (as a live node sees them)."""
        with redis.Redis(port=self.alive()[0], socket_timeout=1) as r:
            nodes = r.cluster("NODES")
        return [int(addr.split(":")[1].split("@")[0]) for addr, info in nodes.items()
                if "master" in info["flags"] and "fail" not in info["flags"] and info["connected"]]

    def replica_synced(self, primary: int) -> bool:
        with redis.Redis(port=primary, socket_timeout=1) as r:
            info = r.info("replication")
        return any(isinstance(v, dict) and v.get("state") == "online"
                   for k, v in info.items() if k.startswith("slave"))

    def primary_of(self, key: str) -> int:
        """The port of the primary serving key's slot now."""
        with redis.Redis(port=self.alive()[0], socket_timeout=1) as r:
            slot = r.cluster("KEYSLOT", key)
            for start, end, primary, *_ in r.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return int(primary[1])
        raise LookupError(key)

    def wait_promoted(self, key: str, dead: int, seconds: float = START_SECONDS) -> int:
        """Until a replica has taken over key's slot from the dead primary (redis' own failover); its port."""
        def promoted() -> bool:
            return self.primary_of(key) != dead and all(self._slot_ok(port) for port in self.alive())
        self._until(promoted, f"failover of {dead}", seconds)
        return self.primary_of(key)

    @staticmethod
    def _slot_ok(port: int) -> bool:
        with redis.Redis(port=port, socket_timeout=1) as r:
            return r.cluster("INFO").get("cluster_state") == "ok"

    def kill(self, port: int) -> None:
        """SIGKILL one node: gone at once, its memory lost."""
        proc = self.procs[port]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        """Stop every node this object started, by pid."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)  # no persistence: nothing to flush
        for proc in self.procs.values():
            proc.wait(10)

    @staticmethod
    def _ping(port: int) -> bool:
        try:
            with redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5) as r:
                return bool(r.ping())
        except (redis.RedisError, OSError):
            return False

    @staticmethod
    def _until(check, what: str, seconds: float = START_SECONDS) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + seconds
        while True:
            try:
                if check():
                    return
            except (redis.RedisError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not happen within {seconds:g}s")
            time.sleep(0.1)
