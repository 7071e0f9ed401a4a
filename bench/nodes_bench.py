"""Issue 14's figures: one Redis's Lua hold throughput, and the rush and fan-out through HAProxy
(nodes on one Redis; bench/cluster_bench.py compares one Redis with a Redis Cluster).

    python -m bench.nodes_bench [--clients 2000] [--watchers 500] [--lua-seconds 5]

1. **Lua on one Redis**: a private redis-server (free port, no persistence, stopped by its pid)
   and the closed hold/release loop of bench/live_bench.py on HoldStore (the same Lua scripts by
   SHA, batched per tick as the server sends them) from this process, then from two. Beside the
   holds/s: Redis's own CPU time per script (/proc/<pid>/stat) and INFO commandstats' usec per
   EVALSHA, so the ceiling of one shard is 1 / (CPU seconds per script), whatever the client.
2. **Deployments**, each started by scripts/cluster.py (`make cluster`: TLS at HAProxy) or as
   one plain node, on free loopback ports, stopped by pid: one node direct (http), one node
   behind HAProxy, two nodes behind HAProxy (one worker each). Against each, the load tool as a
   subprocess: `python -m loadtest rush` (a fresh 500-seat screening, the same clients) and
   `python -m loadtest fanout` (a room of watchers, writers at a fixed rate). The load tool
   trusts the locally generated certificate through SSL_CERT_FILE (nothing is verified off).

Nothing is pinned: two nodes, HAProxy and the load share the machine's cores, so the figures are
ratios against the direct node measured in the same run, not capacities. Writes
bench/out/nodes-bench.json and prints a markdown summary for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import aiohttp
from redis.asyncio import Redis

from bench import harness, live_bench
from bench.burst_bench import cpu_seconds
from bench.run import ADMIN, BENCH_AUTH, OUT
from loadtest import setup
from server.config import ROOT

RUN_SECONDS = 300  # the longest one load-tool run may take before it is stopped
CLUSTER = [sys.executable, "scripts/cluster.py"]


# --- 1. Lua on one Redis ------------------------------------------------------------------

@contextlib.contextmanager
def private_redis() -> Iterator[tuple[str, int]]:
    """A redis-server of our own on a free port (its stats are ours alone); (url, pid)."""
    port = harness.free_port()
    folder = tempfile.mkdtemp(prefix="houseful-bench-redis-")
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", folder]
    with harness.server_process(argv, {}, cpu=None) as proc:
        yield f"redis://127.0.0.1:{port}/0", proc.pid


async def _script_stats(url: str) -> tuple[int, float]:
    """EVALSHA calls so far and their total usec, from INFO commandstats."""
    client = Redis.from_url(url)
    try:
        stats = (await client.info("commandstats")).get("cmdstat_evalsha", {})
    finally:
        await client.aclose()
    return int(stats.get("calls", 0)), float(stats.get("usec", 0))


async def lua_throughput(env: harness.BenchEnv, sid: int, seats: list[int], seconds: float,
                         processes: int) -> dict[str, Any]:
    """Closed hold/release loops on a private Redis from `processes` processes; Redis's CPU per script."""
    with private_redis() as (url, pid):
        settings = env.settings.replace(redis={"url": url})
        await asyncio.sleep(0.2)
        share = len(seats) // processes
        start_at = time.time() + (4.0 if processes > 1 else 0.0)  # every process starts its loop together
        helpers = [_helper(env, url, sid, seats[i * share:(i + 1) * share], seconds, start_at)
                   for i in range(1, processes)]
        mine = seats[:share]
        await asyncio.sleep(max(0.0, start_at - time.time()))
        calls0, usec0 = await _script_stats(url)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        loop = await live_bench.holds_direct(settings, settings.auth.jwt_secret, sid, mine,
                                             [f"u{900_000_000 + i}" for i in range(len(mine))], seconds)
        others = [json.loads(await _finish(h)) for h in helpers]
        wall, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
        calls1, usec1 = await _script_stats(url)
    holds = loop.holds + sum(o["holds"] for o in others)
    scripts = calls1 - calls0
    cpu_per_script = cpu / scripts if scripts else None
    return {"processes": processes, "customers": len(seats), "holds_per_s": round(holds / wall, 1),
            "scripts_per_s": round(scripts / wall, 1), "redis_cpu_share": round(cpu / wall, 3),
            "redis_cpu_us_per_script": round(cpu_per_script * 1e6, 1) if cpu_per_script else None,
            "evalsha_usec_per_call": round((usec1 - usec0) / scripts, 1) if scripts else None,
            "ceiling_scripts_per_s": round(1 / cpu_per_script) if cpu_per_script else None,
            "hold_p99_ms": loop.figures().get("p99")}


# A second load process runs the same closed loop on other seats (one process is client-bound).
HELPER = """
import asyncio, json, sys, time
from bench import harness, live_bench
from server.config import load_settings
cfg = json.loads(sys.argv[1])
time.sleep(max(0.0, cfg["start_at"] - time.time()))
settings = load_settings().replace(database={"url": cfg["db"]}, redis={"url": cfg["url"], "key_prefix": cfg["prefix"]})
loop = asyncio.run(live_bench.holds_direct(settings, cfg["secret"], cfg["sid"], cfg["seats"],
                   ["u%d" % (910_000_000 + i) for i in range(len(cfg["seats"]))], cfg["seconds"]))
print(json.dumps({"holds": loop.holds, "seconds": loop.seconds}))
"""


def _helper(env: harness.BenchEnv, url: str, sid: int, seats: list[int], seconds: float,
            start_at: float) -> subprocess.Popen[bytes]:
    cfg = {"start_at": start_at, "db": env.settings.database.url, "url": url, "prefix": env.settings.redis.key_prefix,
           "secret": env.settings.auth.jwt_secret, "sid": sid, "seats": seats, "seconds": seconds}
    return subprocess.Popen([sys.executable, "-c", HELPER, json.dumps(cfg)], cwd=ROOT, stdout=subprocess.PIPE)


async def _finish(proc: subprocess.Popen[bytes]) -> str:
    out, _ = await asyncio.to_thread(proc.communicate, timeout=RUN_SECONDS)
    return out.decode().strip().splitlines()[-1]


# --- 2. deployments -----------------------------------------------------------------------

@contextlib.contextmanager
def direct_node(bench: harness.BenchEnv, env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """One node, one worker, no proxy: (base URL, extra env for the load tool)."""
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    with harness.server_process(harness.houseful_server(bench, port), env, cpu=None) as proc:
        deadline = time.monotonic() + 60
        while not _healthy(base + "/api/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bench node did not start")
            time.sleep(0.2)
        yield base, {}


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def behind_haproxy(env: dict[str, str], nodes: int) -> Iterator[tuple[str, dict[str, str]]]:
    """scripts/cluster.py up: `nodes` nodes (one worker each) behind HAProxy with TLS; always down."""
    state = Path(tempfile.mkdtemp(prefix="houseful-bench-cluster-"))
    first = _free_run(nodes)
    https = harness.free_port()
    up = [*CLUSTER, "--state", str(state), "up", "--nodes", str(nodes), "--workers", "1",
          "--https-port", str(https), "--http-port", str(harness.free_port()), "--first-port", str(first), "--redis", "single"]
    try:
        subprocess.run(up, cwd=ROOT, env=env, check=True, timeout=240, stdout=subprocess.DEVNULL)
        yield f"https://127.0.0.1:{https}", {"SSL_CERT_FILE": str(state / "tls" / "houseful.pem")}
    finally:
        subprocess.run([*CLUSTER, "--state", str(state), "down"], cwd=ROOT, env=env, timeout=120,
                       stdout=subprocess.DEVNULL)


def _free_run(count: int) -> int:
    """The first of `count` consecutive free loopback ports (cluster.py numbers its nodes from it)."""
    for _ in range(50):
        first = harness.free_port()
        with contextlib.ExitStack() as stack:
            try:
                for port in range(first, first + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise RuntimeError(f"no {count} consecutive free ports")


def load_tool(scenario: str, target: str, env: dict[str, str], args: list[str], name: str) -> dict[str, Any]:
    """`python -m loadtest SCENARIO` against target; its JSON summary (kept in bench/out/)."""
    out = OUT / f"cluster-{name}-{scenario}.json"
    out.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "loadtest", scenario, "--target", target, "--json", str(out), "--quiet", *args]
    done = subprocess.run(argv, cwd=ROOT, env=env, timeout=RUN_SECONDS, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if not out.exists():
        raise RuntimeError(f"loadtest {scenario} wrote no report:\n{done.stdout.decode()[-3000:]}")
    summary = json.loads(out.read_text())
    summary["exit_status"] = done.returncode
    return summary


def _figures(summary: dict[str, Any]) -> dict[str, Any]:
    lat = summary.get("latency_ms", {})
    pick = {k: summary.get(k) for k in ("time_to_houseful_s", "exit_status", "holds", "sold")}
    pick["frames_per_s"] = summary.get("messages", {}).get("in_per_s")
    pick["hold_ack"] = {p: lat.get("hold_ack", {}).get(p) for p in ("p50", "p99")}
    pick["broadcast_lag"] = {p: lat.get("broadcast_lag", {}).get(p) for p in ("p50", "p99")}
    pick["errors"] = summary.get("errors", {}).get("total")
    pick["broken"] = summary.get("invariants", {}).get("broken")
    return pick


def deployments(bench: harness.BenchEnv, args: argparse.Namespace, users_file: str) -> dict[str, Any]:
    """The rush and the fan-out against each deployment, in turn."""
    s = bench.settings
    env = {**os.environ, **bench.env, **ADMIN, "HOUSEFUL_SERVER_TRUSTED_PROXIES": "127.0.0.1/32"}
    common = ["--database-url", s.database.url, "--redis-url", s.redis.url, "--key-prefix", s.redis.key_prefix,
              "--users-file", users_file, "--seed", "42"]
    rush = [*common, "--clients", str(args.clients), "--arrival", str(args.arrival), "--seats", "2",
            "--checkout-fraction", "0.2", "--duration", "60"]
    fanout = [*common, "--clients", str(args.watchers), "--rate", str(args.rate), "--duration", str(args.fanout_seconds)]
    out: dict[str, Any] = {}
    for name, short, start in (("one node, direct", "direct", lambda: direct_node(bench, env)),
                               ("one node behind HAProxy (TLS)", "haproxy1", lambda: behind_haproxy(env, 1)),
                               ("two nodes behind HAProxy (TLS)", "haproxy2", lambda: behind_haproxy(env, 2))):
        with start() as (target, extra):
            print(f"{name}: rush ...", file=sys.stderr)
            got = {"rush": _figures(load_tool("rush", target, {**env, **extra}, rush, short))}
            print(f"{name}: fanout ...", file=sys.stderr)
            got["fanout"] = _figures(load_tool("fanout", target, {**env, **extra}, fanout, short))
        print(f"{name}: {got}", file=sys.stderr)
        out[name] = got
    return out


async def _lua_screening(bench: harness.BenchEnv, customers: int) -> tuple[int, list[int]]:
    """A screening wide enough for `customers` spaced seats, made through a node's API."""
    env = {**os.environ, **bench.env, **ADMIN}
    with direct_node(bench, env) as (base, _):
        async with aiohttp.ClientSession() as session:
            admin = await setup.Admin.login(session, base, ADMIN["HOUSEFUL_ADMIN_EMAIL"],
                                            ADMIN["HOUSEFUL_ADMIN_PASSWORD"])
            sid = (await setup.create_screening(admin, 40, 40, "lua"))["screening"]
            seat_map = await setup.call(session, "GET", f"{base}/api/screenings/{sid}/seats")
    return sid, live_bench.spaced_seats(seat_map)[:customers]


async def main(argv: list[str] | None = None) -> int:
    """Run both parts; print the markdown summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.nodes_bench", description=__doc__)
    parser.add_argument("--clients", type=int, default=2000, help="rush customers")
    parser.add_argument("--arrival", type=float, default=3.0)
    parser.add_argument("--watchers", type=int, default=500, help="fan-out room size")
    parser.add_argument("--rate", type=float, default=50.0, help="fan-out changes per second")
    parser.add_argument("--fanout-seconds", type=float, default=8.0)
    parser.add_argument("--lua-customers", type=int, default=200)
    parser.add_argument("--lua-seconds", type=float, default=5.0)
    parser.add_argument("--skip-deployments", action="store_true")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    users_file = str(Path(tempfile.gettempdir()) / f"houseful-nodes-bench-users-{os.getpid()}.json")
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "args": vars(args)}
    try:
        async with harness.bench_env(auth=BENCH_AUTH) as bench:
            sid, seats = await _lua_screening(bench, args.lua_customers)
            results["lua"] = [await lua_throughput(bench, sid, seats, args.lua_seconds, n) for n in (1, 2)]
            print(f"lua: {results['lua']}", file=sys.stderr)
            if not args.skip_deployments:
                results["deployments"] = await asyncio.to_thread(deployments, bench, args, users_file)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(users_file)
    (OUT / "nodes-bench.json").write_text(json.dumps(results, indent=2))
    print(render(results))
    return 0


def render(r: dict[str, Any]) -> str:
    """The markdown tables of a run."""
    lines = ["| load processes | customers | holds/s | scripts/s | Redis CPU busy | Redis CPU µs/script "
             "| EVALSHA µs/call (commandstats) | ceiling scripts/s (1 / CPU per script) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for x in r.get("lua", []):
        lines.append(f"| {x['processes']} | {x['customers']} | {x['holds_per_s']} | {x['scripts_per_s']} "
                     f"| {x['redis_cpu_share'] * 100:.0f} % | {x['redis_cpu_us_per_script']} "
                     f"| {x['evalsha_usec_per_call']} | {x['ceiling_scripts_per_s']} |")
    deps = r.get("deployments")
    if deps:
        base = next(iter(deps.values()))
        lines += ["", "| deployment | rush: time to houseful | rush: hold-ack p50 / p99 | rush: broadcast lag p99 "
                  "| rush: errors / broken | fan-out lag p50 / p99 | fan-out frames/s | vs direct: houseful time "
                  "| vs direct: fan-out lag p99 |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, got in deps.items():
            ru, fo = got["rush"], got["fanout"]
            lines.append(
                f"| {name} | {ru['time_to_houseful_s']} s | {ru['hold_ack']['p50']} / {ru['hold_ack']['p99']} ms "
                f"| {ru['broadcast_lag']['p99']} ms | {ru['errors']} / {len(ru['broken'] or [])} "
                f"| {fo['broadcast_lag']['p50']} / {fo['broadcast_lag']['p99']} ms | {fo['frames_per_s']} "
                f"| {_ratio(ru['time_to_houseful_s'], base['rush']['time_to_houseful_s'])} "
                f"| {_ratio(fo['broadcast_lag']['p99'], base['fanout']['broadcast_lag']['p99'])} |")
    return "\n".join(lines)


def _ratio(value: Any, base: Any) -> str:
    return f"{value / base:.2f}×" if isinstance(value, (int, float)) and isinstance(base, (int, float)) and base else "–"


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
