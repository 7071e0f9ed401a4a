"""Single Redis vs Redis Cluster in the same run: a rush through the app, and one shard's Lua holds.

`python -m bench.cluster_bench [--clients N] [--arrival S] [--concurrency C] [--seconds T]` starts a
private 6-node Redis Cluster (scripts/redis_cluster.py) and a private single redis-server (the same
binary and settings, so neither shares a Redis with anything else on the machine), then:

1. the rush (`loadtest rush`, 2 seats each, a fifth pay) against one Houseful worker on core 0 on
   the single Redis, then the same rush (same users, client code and sizes) against
   a worker on the cluster: the cost of redis-py's cluster client in the app;
2. the closed hold/release loop on HoldStore (the Lua scripts by SHA, no server in between) with C
   customers on one screening, on the single Redis and on the cluster: one screening lives in one
   slot, so the cluster figure is one shard's Lua throughput, the bound of one screening.

Rewrites the "Redis Cluster" section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench import harness, live_bench
from bench.report_md import write_section
from bench.run import ADMIN, BENCH_AUTH, OUT, RESULTS, _admin, houseful
from loadtest import runner, setup
from loadtest.scenarios import Options
from scripts.redis_cluster import LocalRedisCluster
from tests.support.stores import PrivateRedis

BEGIN, END = "<!-- redis-cluster -->", "<!-- /redis-cluster -->"
ORDER = ("single", "cluster", "cluster", "single")


def _options(base: str, env: harness.BenchEnv, args: argparse.Namespace, users: str, redis_url: str,
             name: str) -> Options:
    s = env.settings
    return Options(
        scenario="rush", target=base, clients=args.clients, arrival_s=args.arrival, seats=2, checkout_fraction=0.2,
        duration_s=120.0, seed=42, rows=20, per_row=25, admin_email=ADMIN["HOUSEFUL_ADMIN_EMAIL"],
        admin_password=ADMIN["HOUSEFUL_ADMIN_PASSWORD"], database_url=s.database.url, redis_url=redis_url,
        key_prefix=s.redis.key_prefix, json_path=str(OUT / f"{name}.json"), html_path=str(OUT / f"{name}.html"),
        users_file=users, live=False,
    )


async def _rush(env: harness.BenchEnv, args: argparse.Namespace, users: str, redis_url: str,
                name: str) -> dict[str, Any]:
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    with houseful(env, port, {"HOUSEFUL_REDIS_URL": redis_url}) as proc:
        await harness.wait_http(base + "/api/health", proc)
        text = io.StringIO()
        status, summary = await runner.run(_options(base, env, args, users, redis_url, name), text)
        print(text.getvalue(), file=sys.stderr)
    return {**summary, "exit_status": status}


async def _lua(env: harness.BenchEnv, args: argparse.Namespace, urls: dict[str, str]) -> dict[str, Any]:
    """The HoldStore closed loop on each Redis, on one screening made through a server."""
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    with houseful(env, port) as proc:
        await harness.wait_http(base + "/api/health", proc)
        async with aiohttp.ClientSession() as session:
            admin = await _admin(session, base)
            sid = (await setup.create_screening(admin, 20, 25, "lua"))["screening"]
            seat_map = await setup.call(session, "GET", f"{base}/api/screenings/{sid}/seats")
    seats = live_bench.spaced_seats(seat_map)[: args.concurrency]
    owners = [f"u{900_000_000 + i}" for i in range(len(seats))]
    out: dict[str, list[dict[str, Any]]] = {"single": [], "cluster": []}
    for kind in ORDER:
        settings = env.settings.replace(redis={"url": urls[kind]})
        print(f"Lua holds on {kind} ...", file=sys.stderr)
        out[kind].append((await live_bench.holds_direct(settings, settings.auth.jwt_secret, sid, seats, owners,
                                                        args.seconds)).figures())
    return out


async def main(argv: list[str] | None = None) -> int:
    """Both rushes, both Lua loops; rewrite the section of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_bench", description=__doc__)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--arrival", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    harness.load_tool()
    OUT.mkdir(exist_ok=True)
    users = str(Path(os.environ.get("TMPDIR", "/tmp")) / f"houseful-cluster-users-{os.getpid()}.json")
    folder = Path(tempfile.mkdtemp(prefix="houseful-bench-cluster-"))
    cluster = LocalRedisCluster(folder)
    single = PrivateRedis(folder)
    runs: dict[str, Any] = {}
    try:
        cluster.start()
        await single.start()
        async with harness.bench_env(auth=BENCH_AUTH, redis={"url": single.url}) as env:
            urls = {"single": single.url, "cluster": cluster.url}
            # A B B A: a drift of the machine's load over the run weighs on both sides alike.
            runs.update(single=[], cluster=[], lua={"single": [], "cluster": []})
            for i, kind in enumerate(ORDER):
                runs[kind].append(await _rush(env, args, users, urls[kind], f"rush-{kind}-{i}"))
            for kind, figures in (await _lua(env, args, urls)).items():
                runs["lua"][kind] = figures
            from server.redis_client import delete_prefix
            await delete_prefix(cluster.url, env.settings.redis.key_prefix)
    finally:
        cluster.stop()
        single.stop()
        if os.path.exists(users):
            os.unlink(users)
    write_section(RESULTS, BEGIN, END, render(runs, args))
    return 0


def _ratio(cluster: float, single: float) -> str:
    return f"{100 * cluster / single:.0f} %" if single else "–"


def _both(values: list[float], unit: str) -> tuple[str, float]:
    """'mean (first, second)' and the mean."""
    mean = sum(values) / len(values)
    return f"{mean:.1f} {unit} ({', '.join(f'{v:.1f}' for v in values)})", mean


def render(runs: dict[str, Any], args: argparse.Namespace) -> str:
    """The RESULTS.md section: each figure the mean of its two runs (both shown)."""
    s, c, lua = runs["single"], runs["cluster"], runs["lua"]
    rows = []
    for label, name in (("hold-ack", "hold_ack"), ("broadcast lag", "broadcast_lag"), ("connect", "connect")):
        for q in ("p50", "p99"):
            (a, ma), (b, mb) = (_both([float(r["latency_ms"][name][q]) for r in side], "ms") for side in (s, c))
            rows.append((f"rush: {label} {q}", a, b, _ratio(mb, ma)))
    (a, ma), (b, mb) = (_both([float(r["time_to_houseful_s"] or 0) for r in side], "s") for side in (s, c))
    rows.append(("rush: time to houseful", a, b, _ratio(mb, ma)))
    rows.append(("rush: orders paid, errors, broken invariants (both runs)",
                 *(" / ".join(f"{r['orders_paid']}, {r['errors']['total']}, {len(r['invariants']['broken'])}"
                              for r in side) for side in (s, c)), ""))
    (a, ma), (b, mb) = (_both([f["holds_per_s"] for f in lua[k]], "/s") for k in ("single", "cluster"))
    rows.append((f"Lua holds/s, {args.concurrency} customers on one screening (HoldStore, no server)",
                 a, b + " (one shard)", _ratio(mb, ma)))
    (a, ma), (b, mb) = (_both([f["p99"] for f in lua[k]], "ms") for k in ("single", "cluster"))
    rows.append(("Lua hold p99", a, b, _ratio(mb, ma)))
    table = "\n".join(f"| {a} | {b} | {d} | {r} |" for a, b, d, r in rows)
    return f"""{BEGIN}
## Redis Cluster (issue 14): single Redis vs a 6-node cluster, same run

`python -m bench.cluster_bench --clients {args.clients} --arrival {args.arrival} --concurrency {args.concurrency}
--seconds {args.seconds}`: one worker on core 0, the load tool on core 1. Each side runs twice, in the
order single, cluster, cluster, single: a figure is the mean, both runs in brackets. The cluster is
3 primaries and 3 replicas of Debian's redis-server on this machine (scripts/redis_cluster.py); the
single Redis is one private redis-server of the same binary and settings. Same users, client code
and sizes for all rushes. The Lua loop is HoldStore's hold/release by SHA with no server in between,
on one screening: one slot, so the cluster figure is one shard's.

| figure | single Redis | Redis Cluster | cluster / single (latency: lower is better) |
| --- | --- | --- | --- |
{table}
{END}
"""


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main()))
