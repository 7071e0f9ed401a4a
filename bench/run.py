"""`make bench`: the whole benchmark suite on this machine; rewrites bench/RESULTS.md.

Every figure sits beside a baseline measured in the same run: holds through the server vs the
same Lua scripts on Redis directly; room fan-out vs a bare aiohttp broadcast loop; confirms vs
pgbench (bench/confirm_bench.py, when present); RSS per idle socket vs bare aiohttp; and the
rush of issue 6 (5,000 clients, one 500-seat screening) with its invariants. Servers run pinned
to core 0, this process (the load) to core 1. Everything is on loopback, bounded, and every
server started is stopped by its pid.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import asyncpg
from server.redis_client import client_for

from bench import harness, live_bench, sockets_bench
from bench.report_md import render
from loadtest import runner, setup
from loadtest.scenarios import Options
from server.config import ROOT

ADMIN = {"HOUSEFUL_ADMIN_EMAIL": "bench-admin@bench.example", "HOUSEFUL_ADMIN_PASSWORD": "Benchpass2024"}
# Customers are created for the bench only: cheap argon2 and no registration throttle (setup cost only).
BENCH_AUTH = {"registrations_per_hour": 10_000_000, "login_ip_max_failures": 1_000_000,
              "argon2_memory_kib": 256, "argon2_rounds": 1}
# Closed-loop benches send far more than a person would: lift the per-socket command limit for them.
# The bench's customers send far beyond a person's rate: no per-socket or per-user limit gets in the
# way (the user budget still runs, one lease per user, as in production; without this its 20/s
# refused the closed loops' releases, left the seats held, and the direct loop after it held nothing).
NO_COMMAND_LIMIT = {"HOUSEFUL_WEBSOCKET_COMMANDS_PER_SECOND": "10000", "HOUSEFUL_WEBSOCKET_COMMAND_BURST": "10000",
                    "HOUSEFUL_WEBSOCKET_USER_COMMANDS_PER_SECOND": "100000",
                    "HOUSEFUL_WEBSOCKET_USER_COMMAND_BURST": "100000"}
RESULTS = ROOT / "bench" / "RESULTS.md"
OUT = ROOT / "bench" / "out"  # reports and profiles of the last run (git-ignored)


@contextlib.contextmanager
def houseful(env: harness.BenchEnv, port: int, extra: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A one-worker Houseful server on core 0."""
    with harness.server_process(harness.houseful_server(env, port), {**env.env, **ADMIN, **(extra or {})}) as proc:
        yield proc


async def _admin(session: aiohttp.ClientSession, base: str) -> setup.Admin:
    return await setup.Admin.login(session, base, ADMIN["HOUSEFUL_ADMIN_EMAIL"], ADMIN["HOUSEFUL_ADMIN_PASSWORD"])


async def live_suite(env: harness.BenchEnv, scale: dict[str, Any]) -> dict[str, Any]:
    """Holds vs direct Redis, fan-out and idle sockets on Houseful; then the same on bare aiohttp."""
    out: dict[str, Any] = {}
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    with houseful(env, port, NO_COMMAND_LIMIT) as proc:
        await harness.wait_http(base + "/api/health", proc)
        async with aiohttp.ClientSession() as session:
            admin = await _admin(session, base)
            created = await setup.create_screening(admin, 20, 25, "bench")
            sid = created["screening"]
            seat_map = await setup.call(session, "GET", f"{base}/api/screenings/{sid}/seats")
            users = await setup.register_users(session, base, scale["concurrency"] + 1, "bench")
        seats = live_bench.spaced_seats(seat_map)[: scale["concurrency"]]
        tokens = [u["token"] for u in users]
        print(f"holds: {len(seats)} concurrent customers through the server ...", file=sys.stderr)
        out["holds_server"] = (await live_bench.holds_through_server(
            base, sid, seats, tokens[: len(seats)], scale["hold_seconds"])).figures()
        owners = [f"u{900_000_000 + i}" for i in range(len(seats))]
        print("holds: the same loop on HoldStore directly ...", file=sys.stderr)
        out["holds_direct"] = (await live_bench.holds_direct(
            env.settings, env.settings.auth.jwt_secret, sid, seats, owners, scale["hold_seconds"])).figures()
        print(f"fan-out: {scale['watchers']} watchers ...", file=sys.stderr)
        out["fanout_server"] = (await live_bench.fanout_houseful(
            base, sid, seats[0], tokens[-1], scale["watchers"], scale["fanout_seconds"])).figures()
        print(f"fan-out: paced at {scale['fanout_rate']} changes/s ...", file=sys.stderr)
        out["fanout_server_paced"] = (await live_bench.fanout_houseful(
            base, sid, seats[0], tokens[-1], scale["watchers"], scale["fanout_seconds"],
            scale["fanout_rate"])).figures()
        print(f"idle sockets: {scale['sockets']} ...", file=sys.stderr)
        out["sockets_server"] = await sockets_bench.idle_sockets(
            base.replace("http", "ws", 1) + f"/ws/screenings/{sid}", scale["sockets"], proc.pid, first_frame=True)
    port = harness.free_port()
    bare = f"http://127.0.0.1:{port}"
    with harness.server_process([sys.executable, "-m", "bench.bare_broadcast", str(port)], {}) as proc:
        await harness.wait_http(bare + "/api/health", proc)
        print("bare aiohttp: fan-out and idle sockets ...", file=sys.stderr)
        out["fanout_bare"] = (await live_bench.fanout_bare(bare, scale["watchers"], scale["fanout_seconds"])).figures()
        out["fanout_bare_paced"] = (await live_bench.fanout_bare(
            bare, scale["watchers"], scale["fanout_seconds"], scale["fanout_rate"])).figures()
        out["sockets_bare"] = await sockets_bench.idle_sockets(
            bare.replace("http", "ws", 1) + "/ws", scale["sockets"], proc.pid, first_frame=False)
    return out


def _rush_options(base: str, env: harness.BenchEnv, scale: dict[str, Any], users_file: str) -> Options:
    s = env.settings
    return Options(
        scenario="rush", target=base, clients=scale["rush_clients"], arrival_s=scale["rush_arrival"], seats=2,
        checkout_fraction=0.2, duration_s=60.0, seed=42, processes=1, rows=20, per_row=25,
        admin_email=ADMIN["HOUSEFUL_ADMIN_EMAIL"], admin_password=ADMIN["HOUSEFUL_ADMIN_PASSWORD"],
        database_url=s.database.url, redis_url=s.redis.url, key_prefix=s.redis.key_prefix,
        json_path=str(OUT / "rush-report.json"), html_path=str(OUT / "rush-report.html"),
        users_file=users_file, live=sys.stderr.isatty(),
    )


async def rush_suite(env: harness.BenchEnv, scale: dict[str, Any], profile: bool) -> dict[str, Any]:
    """The rush of issue 6 through the load tool; profiled with py-spy (a second run) if a target is missed."""
    users_file = str(Path(os.environ.get("TMPDIR", "/tmp")) / f"houseful-bench-users-{os.getpid()}.json")
    out: dict[str, Any] = {}
    try:
        port = harness.free_port()
        base = f"http://127.0.0.1:{port}"
        with houseful(env, port) as proc:
            await harness.wait_http(base + "/api/health", proc)
            print(f"rush: {scale['rush_clients']} clients ...", file=sys.stderr)
            text = io.StringIO()
            status, summary = await runner.run(_rush_options(base, env, scale, users_file), text)
            print(text.getvalue(), file=sys.stderr)
            out["rush"] = {k: v for k, v in summary.items() if k not in ("timeline", "options")}
            out["rush"]["exit_status"] = status
            if profile and _missed(out["rush"]):
                out["profile"] = await _profiled_rush(base, env, scale, users_file, proc.pid)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(users_file)
    return out


def _missed(rush: dict[str, Any]) -> bool:
    lat = rush["latency_ms"]
    houseful = rush["time_to_houseful_s"]
    return (houseful is None or houseful > 5 or lat["hold_ack"]["p99"] > 100 or lat["broadcast_lag"]["p99"] > 250
            or rush["errors"]["total"] > 0 or bool(rush["invariants"]["broken"]))


async def _profiled_rush(base: str, env: harness.BenchEnv, scale: dict[str, Any], users_file: str,
                         pid: int) -> dict[str, Any]:
    """Run the rush again (fresh screening, same users) under py-spy: the server and the load generator."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        return {"note": "py-spy is not installed (pip install -r requirements-dev.txt)"}
    seconds = int(scale["rush_arrival"] + 12)
    files = {"server": OUT / "rush-profile-server.txt", "load": OUT / "rush-profile-load.txt"}
    spies: list[subprocess.Popen] = []

    def start() -> None:  # once setup (logins, the screening) is done: only the rush is sampled
        for who, target in (("server", pid), ("load", os.getpid())):
            spies.append(subprocess.Popen(
                [str(spy), "record", "--pid", str(target), "--duration", str(seconds), "--rate", "200",
                 "--format", "raw", "--output", str(files[who]), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    print(f"profiling the server (pid {pid}) and the load generator with py-spy ...", file=sys.stderr)
    try:
        opts = _rush_options(base, env, scale, users_file)
        opts.json_path = opts.html_path = None
        await runner.run(opts, io.StringIO(), on_start=start)
    finally:
        for proc in spies:
            try:
                proc.wait(seconds + 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {who: _hot_spots(path) for who, path in files.items()}


def _hot_spots(raw: Path, top: int = 15) -> list[tuple[str, float]]:
    """Own-time share per function from py-spy's collapsed stacks ("a;b;c count" lines)."""
    if not raw.exists():
        return []
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        leaf = stack.split(";")[-1]
        own[leaf] = own.get(leaf, 0) + int(count)
        total += int(count)
    ranked = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    return [(name, round(100 * n / total, 1)) for name, n in ranked]


def checkout_suite() -> dict[str, Any]:
    """bench/confirm_bench.py (the checkout engineer's confirms vs pgbench), when it exists: its markdown."""
    path = ROOT / "bench" / "confirm_bench.py"
    if not path.exists():
        return {"markdown": "_bench/confirm_bench.py is not there yet: no confirm figures in this run._"}
    print("checkout: bench/confirm_bench.py ...", file=sys.stderr)
    proc = subprocess.run([sys.executable, "-m", "bench.confirm_bench"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "HOUSEFUL_BENCH_CALLED_BY_RUN": "1"})
    if proc.returncode != 0:
        return {"markdown": f"_bench/confirm_bench.py failed (exit {proc.returncode}):_\n\n```\n"
                            f"{proc.stderr[-2000:]}\n```"}
    return {"markdown": proc.stdout.strip()}


async def machine(env: harness.BenchEnv, pinned: str) -> dict[str, Any]:
    """What ran the benchmark."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    redis = client_for(env.settings.redis.url)
    try:
        redis_version = (await redis.info("server"))["redis_version"]
    finally:
        await redis.aclose()
    conn = await asyncpg.connect(env.settings.database.url)
    try:
        pg_version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "cores": harness.CORES, "memory_mib": mem, "kernel": platform.release(),
            "python": platform.python_version(), "redis": redis_version, "postgresql": pg_version,
            "pinned": f"servers on core {harness.SERVER_CPU} (taskset); load generator on {pinned} "
                      "(sched_setaffinity); Redis and PostgreSQL not pinned (shared by both)"
                      if harness.CORES > 1 else "not pinned (one core)"}


SCALES = {
    "full": {"concurrency": 50, "hold_seconds": 5.0, "watchers": 1000, "fanout_seconds": 8.0, "fanout_rate": 50, "sockets": 10_000,
             "rush_clients": 5000, "rush_arrival": 3.0},
    "quick": {"concurrency": 20, "hold_seconds": 2.0, "watchers": 200, "fanout_seconds": 3.0, "fanout_rate": 50, "sockets": 1000,
              "rush_clients": 500, "rush_arrival": 2.0},
}


async def main(argv: list[str] | None = None) -> int:
    """Run the suite and rewrite bench/RESULTS.md (--quick: a small smoke run written to stdout only)."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small scale; print, do not rewrite RESULTS.md")
    parser.add_argument("--only", default="live,rush,checkout", help="comma list of: live, rush, checkout")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="never run py-spy")
    args = parser.parse_args(argv)
    scale = SCALES["quick" if args.quick else "full"]
    only = set(args.only.split(","))
    pinned = harness.load_tool()
    OUT.mkdir(exist_ok=True)
    results: dict[str, Any] = {"scale": scale}
    async with harness.bench_env(auth=BENCH_AUTH) as env:
        results["machine"] = await machine(env, pinned)
        if "live" in only:
            results.update(await live_suite(env, scale))
        if "rush" in only:
            results.update(await rush_suite(env, scale, args.profile))
    if "checkout" in only:
        results["checkout"] = checkout_suite()
    text = render(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))  # to re-render later
    if args.quick:
        print(text)
    else:
        RESULTS.write_text(text + _kept_sections())
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


def _kept_sections() -> str:
    """Sections other benches write into RESULTS.md (bench/waiting_room_bench.py, bench/cluster_bench.py, bench/nodes_bench.py)
    and the hand-written issue-13 record, kept across rewrites."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    kept = ""
    for name in ("issue-13", "nodes-bench", "waiting-room", "redis-cluster"):
        start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
        if start in old and end in old:
            kept += "\n" + start + old.split(start, 1)[1].split(end, 1)[0] + end + "\n"
    return kept


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main()))
