"""Server CPU per hold command in a burst (issue 13): python -m bench.burst_bench [--customers 3000] [--repeat 3]

N customers join one screening's room, then all at once each sends two single-seat `hold`
commands. The figure is the server process's CPU time (utime + stime from /proc/<pid>/stat)
from the first command until the room is quiet again (every ack and every broadcast frame
delivered), divided by the hold commands sent: the whole cost of a hold, fan-out included.
Beside it, in the same run: the same burst of holds on HoldStore directly (the same Lua
scripts by SHA, no server in between) and the closed-loop holds/s pair of bench/live_bench.py.
One worker on core 0 (taskset), this process on core 1. Each burst uses a fresh screening;
the median of --repeat runs is reported (the machine is shared and noisy).

The printed row: CPU per hold (median, range), burst holds/s through the server / direct, the
closed loops' holds/s, ack and broadcast p99 (at the clients), frames written per hold, the
server's capacity: hold commands per second of its CPU (1 / CPU per hold), beside direct Lua's
holds/s; and the server's own hold-ack and fan-out-lag p99 (its histograms' bucket bounds). The burst's
own holds/s is bound by this process too: one core parsing every reply and frame of 3,000 sockets.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import harness, live_bench
from bench.run import BENCH_AUTH, NO_COMMAND_LIMIT, OUT, _admin, _hot_spots, houseful
from loadtest import setup
from loadtest.client import Moviegoer
from loadtest.metrics import Metrics
from server.clock import SystemClock
from server.live.holds import HoldStore
from server.queries import load_queries
from server.redis_client import create_redis

TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_EVERY = 20  # one customer in 20 parses event frames for the broadcast lag (the load has one core)
CONNECT_SLOTS = 256


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, seconds (Linux /proc/<pid>/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def seat_choices(seats: list[int], customers: int, seed: int) -> list[list[int]]:
    """Two distinct random seats per customer (a rush: many customers want the same seats)."""
    rng = random.Random(seed)
    return [rng.sample(seats, 2) for _ in range(customers)]


async def _quiet(metrics: Metrics, still_s: float = 0.3, limit_s: float = 30.0) -> None:
    """Wait until no frame has arrived for still_s: every broadcast of the burst delivered."""
    end = time.monotonic() + limit_s
    last = -1
    while time.monotonic() < end:
        now = metrics.counts["frames_in"]
        if now == last:
            return
        last = now
        await asyncio.sleep(still_s)


def _spy(pid: int, raw: Path) -> subprocess.Popen:
    """py-spy sampling the server until interrupted (collapsed stacks in raw); with
    BURST_PERF=1, Linux perf instead (perf.data beside raw: kernel, C libraries, the interpreter)."""
    if os.environ.get("BURST_PERF"):
        return subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(pid), "-o", str(raw.with_suffix(".perf"))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
                             "--output", str(raw), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def burst_through_server(base: str, sid: int, tokens: list[str], choices: list[list[int]],
                               pid: int, profile: Path | None = None) -> dict[str, Any]:
    """One burst: every customer connected, then 2 holds each at once; CPU, acks and lags."""
    metrics = Metrics()
    slots = asyncio.Semaphore(CONNECT_SLOTS)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        clients = [Moviegoer(session, base, sid, metrics, None, token=t, sampled=i % SAMPLE_EVERY == 0)
                   for i, t in enumerate(tokens)]

        async def join(c: Moviegoer) -> bool:
            async with slots:
                return await c.connect()

        assert all(await asyncio.gather(*(join(c) for c in clients))), "a burst socket did not connect"
        await _quiet(metrics)
        held = 0
        refused: Counter[str] = Counter()

        async def one(c: Moviegoer, seats: list[int]) -> None:
            nonlocal held
            replies = await asyncio.gather(*(c.command("hold", seats=[s]) for s in seats), return_exceptions=True)
            for r in replies:
                if isinstance(r, BaseException):
                    refused["no answer: " + type(r).__name__] += 1
                elif r.get("success"):
                    held += 1
                else:
                    refused[str((r.get("error") or {}).get("code"))] += 1

        scrape0 = await harness.scrape_server(session, base)
        spy = _spy(pid, profile) if profile is not None else None
        frames0 = metrics.counts["frames_in"]
        cpu0, t0, load0 = cpu_seconds(pid), time.monotonic(), time.process_time()
        await asyncio.gather(*(one(c, s) for c, s in zip(clients, choices)))
        acked = time.monotonic() - t0
        await _quiet(metrics)
        cpu, load_cpu = cpu_seconds(pid) - cpu0, time.process_time() - load0
        frames = metrics.counts["frames_in"] - frames0  # one socket write each (replies and broadcasts)
        scrape1 = await harness.scrape_server(session, base)
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled so far
            spy.wait(60)
        await asyncio.gather(*(c.close() for c in clients))
    commands = 2 * len(clients)
    lat = metrics.latency_ms()
    return {"cpu_us_per_hold": round(cpu / commands * 1e6, 1), "cpu_s": round(cpu, 3), "load_cpu_s": round(load_cpu, 3), "commands": commands,
            "frames_per_hold": round(frames / commands, 1), "held": held, "acked_s": round(acked, 3), "holds_per_s": round(commands / acked, 1),
            "ack_p99_ms": lat.get("hold_ack", {}).get("p99"), "broadcast_p99_ms": lat.get("broadcast_lag", {}).get("p99"),
            "refused": dict(refused), "refused_in_room": scrape1["here"] - scrape0["here"],
            # The server's own view (its histograms' bucket bounds): frame read -> reply written, and
            # event published -> frame written; the p99s above add the load process's own queueing.
            "server_ack_p99_ms": harness.p99_ms(scrape0["ack"], scrape1["ack"]),
            "server_fanout_p99_ms": harness.p99_ms(scrape0["lag"], scrape1["lag"]), "errors": dict(metrics.errors)}


async def burst_direct(env: harness.BenchEnv, sid: int, choices: list[list[int]]) -> dict[str, Any]:
    """The same burst of holds on HoldStore directly: every hold at once, holds/s till the last answer."""
    settings = env.settings
    redis = create_redis(settings.replace(redis={"max_connections": 64}))
    pool = await asyncpg.create_pool(settings.database.url, min_size=1, max_size=2)
    store = HoldStore(redis, pool, settings, settings.auth.jwt_secret, load_queries().live, clock=SystemClock())
    try:
        await store.load_scripts()
        await store.warm(sid)

        refused: Counter[str] = Counter()

        async def one(owner: str, seat: int) -> bool:
            try:
                await store.hold(sid, owner, [seat])
                return True
            except Exception as exc:  # noqa: BLE001 - a refused hold is an answer too
                refused[type(exc).__name__] += 1
                return False

        t0 = time.monotonic()
        done = await asyncio.gather(*(one(f"u{800_000_000 + i}", s) for i, c in enumerate(choices) for s in c))
        seconds = time.monotonic() - t0
    finally:
        await pool.close()
        await redis.aclose()
    return {"holds_per_s": round(len(done) / seconds, 1), "held": sum(done), "seconds": round(seconds, 3),
            "refused": dict(refused)}


def median(runs: list[dict[str, Any]], key: str) -> Any:
    """Median of one figure over the repeats (None when missing)."""
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 1) if values else None


async def main(argv: list[str] | None = None) -> int:
    """Run the bursts and the closed-loop pair; print a markdown summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.burst_bench", description=__doc__)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="this commit")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the first burst")
    parser.add_argument("--loop-seconds", type=float, default=4.0, help="closed-loop holds pair, seconds each")
    args = parser.parse_args(argv)
    harness.load_tool()
    OUT.mkdir(exist_ok=True)
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    server, direct = [], []
    async with harness.bench_env(auth=BENCH_AUTH) as env:
        with houseful(env, port, NO_COMMAND_LIMIT) as proc:
            await harness.wait_http(base + "/api/health", proc)
            async with aiohttp.ClientSession() as session:
                admin = await _admin(session, base)
                users = await setup.register_users(session, base, args.customers, "burst")
                tokens = [u["token"] for u in users]
                for i in range(args.repeat):
                    sid = (await setup.create_screening(admin, 20, 25, f"burst{i}"))["screening"]
                    seat_map = await setup.call(session, "GET", f"{base}/api/screenings/{sid}/seats")
                    seats = [s["id"] for s in seat_map["seats"] if not s.get("blocked")]
                    choices = seat_choices(seats, args.customers, seed=i)
                    raw = OUT / "burst-profile-server.txt" if args.profile and i == 0 else None
                    server.append(await burst_through_server(base, sid, tokens, choices, proc.pid, raw))
                    if raw is not None and raw.exists():
                        for name, share in _hot_spots(raw, 25):
                            print(f"  {share:5.1f} %  {name}", file=sys.stderr)
                    print(f"burst {i + 1}: {server[-1]}", file=sys.stderr)
                    sid2 = (await setup.create_screening(admin, 20, 25, f"direct{i}"))["screening"]
                    seat_map2 = await setup.call(session, "GET", f"{base}/api/screenings/{sid2}/seats")
                    same = dict(zip(seats, [s["id"] for s in seat_map2["seats"] if not s.get("blocked")]))
                    direct.append(await burst_direct(env, sid2, [[same[s] for s in c] for c in choices]))
                    print(f"direct {i + 1}: {direct[-1]}", file=sys.stderr)
                sid = (await setup.create_screening(admin, 20, 25, "loop"))["screening"]
                seat_map = await setup.call(session, "GET", f"{base}/api/screenings/{sid}/seats")
            loop_seats = live_bench.spaced_seats(seat_map)[:50]
            loop_server = (await live_bench.holds_through_server(base, sid, loop_seats, tokens[:50],
                                                                 args.loop_seconds)).figures()
            loop_direct = (await live_bench.holds_direct(env.settings, env.settings.auth.jwt_secret, sid, loop_seats,
                                                         [f"u{900_000_000 + i}" for i in range(50)],
                                                         args.loop_seconds)).figures()
    cpu = median(server, "cpu_us_per_hold")
    ratio_burst = median(server, "holds_per_s") / median(direct, "holds_per_s")
    if not loop_direct["holds_per_s"]:
        print(f"closed loop: direct Lua held nothing: {loop_direct}", file=sys.stderr)
    ratio_loop = loop_server["holds_per_s"] / max(loop_direct["holds_per_s"], 0.1)
    # What one core of the server could answer if the load were not the limit: hold commands per
    # second of its CPU (the burst's holds/s is bound by this process's single core as well).
    capacity = 1e6 / cpu
    print(f"| {args.label} | {cpu} µs | {min(r['cpu_us_per_hold'] for r in server)}–"
          f"{max(r['cpu_us_per_hold'] for r in server)} µs | {median(server, 'holds_per_s')} / "
          f"{median(direct, 'holds_per_s')} ({ratio_burst:.0%}) | {loop_server['holds_per_s']} / "
          f"{loop_direct['holds_per_s']} ({ratio_loop:.0%}) | {median(server, 'ack_p99_ms')} ms | "
          f"{median(server, 'broadcast_p99_ms')} ms | {median(server, 'frames_per_hold')} | "
          f"{capacity:.0f} ({capacity / median(direct, 'holds_per_s'):.0%}) | "
          f"{median(server, 'server_ack_p99_ms')} / {median(server, 'server_fanout_p99_ms')} ms |")
    return 0


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main()))
