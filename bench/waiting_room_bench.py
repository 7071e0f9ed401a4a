"""The rush with and without the waiting room, side by side; memory per waiting client.

`python -m bench.waiting_room_bench [--clients N] [--arrival S] [--waiters M]` starts one Houseful
worker (core 0), runs `loadtest rush` on a fresh 500-seat screening twice with the same users and
client code: straight into the seat map, then through the waiting room (mode always, the rate
derived from capacity). Then M customers wait in a paused line and the worker's RSS is read before
and after. Rewrites the "Waiting room" section of bench/RESULTS.md (bench/run.py keeps it).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import orjson

from bench import harness
from bench.report_md import write_section
from bench.run import ADMIN, BENCH_AUTH, OUT, RESULTS, _admin, houseful
from loadtest import runner, setup
from loadtest.scenarios import Options
from loadtest.wsproto import WaitingSocket, open_socket

BEGIN, END = "<!-- waiting-room -->", "<!-- /waiting-room -->"


def _options(base: str, env: harness.BenchEnv, args: argparse.Namespace, users: str, line: bool) -> Options:
    s = env.settings
    name = "rush-line" if line else "rush-direct"
    return Options(
        scenario="rush", target=base, clients=args.clients, arrival_s=args.arrival, seats=2, checkout_fraction=0.2,
        duration_s=duration(args), seed=42, rows=20, per_row=25, admin_email=ADMIN["HOUSEFUL_ADMIN_EMAIL"],
        admin_password=ADMIN["HOUSEFUL_ADMIN_PASSWORD"], database_url=s.database.url, redis_url=s.redis.url,
        key_prefix=s.redis.key_prefix, json_path=str(OUT / f"{name}.json"), html_path=str(OUT / f"{name}.html"),
        users_file=users, live=False, waiting_room=line, admit_rate=args.rate, max_active=args.clients,
        processes=args.processes,
    )


@contextlib.contextmanager
def jobs_apart(env: harness.BenchEnv) -> Iterator[subprocess.Popen]:
    """The job worker as its own process at the lowest priority, on the server's core.

    Each paid order's confirmation renders PDF tickets and QR codes (~0.2 s of CPU). Inside the
    server process that work shares the GIL with the sockets: profiled at 10,000 arrivals it took
    about 30 % of the worker's samples during the rush. Apart and niced, it runs when the core is
    idle: the emails wait, the sockets do not (docs/waiting-room.md, "Release night").
    """
    argv = ["nice", "-n", "19", sys.executable, "run.py", "worker"]
    with harness.server_process(argv, {**env.env, **ADMIN}) as proc:
        yield proc


def jobs_note(args: argparse.Namespace) -> str:
    """How the job worker ran (it renders the paid orders' PDF tickets)."""
    if args.jobs_in_node:
        return "The job worker (emails, PDF tickets) ran inside the server process (`--jobs-in-node`)."
    return ("The job worker (emails, PDF tickets) ran as its own `run.py worker` at nice 19 on the "
            "server's core, the release-night deployment (docs/waiting-room.md).")


def duration(args: argparse.Namespace) -> float:
    """Long enough for the whole line to be called at the rate, and a minute more (both runs alike):
    a run that ends before the last number can be called counts its own end as customers left hanging."""
    return max(120.0, args.clients / args.rate + 60.0)


async def waiting_memory(base: str, pid: int, count: int, users: str, trace: str | None = None) -> dict[str, Any]:
    """RSS of the worker before and after `count` customers wait in a paused line (each joined).

    With `trace` (the server runs with HOUSEFUL_BENCH_TRACEMALLOC=trace), a tracemalloc snapshot
    is taken at both points and the biggest differences are printed (where the bytes go).
    """
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        admin = await _admin(session, base)
        created = await setup.create_screening(admin, 20, 25, "mem")
        sid = created["screening"]
        await admin.call("PUT", f"/api/screenings/{sid}/waiting-room", {"mode": "always", "paused": True})
        tokens = await setup.customers(session, base, count, "mem", users)
        url = base.replace("http", "ws", 1) + f"/ws/screenings/{sid}/line"
        slots = asyncio.Semaphore(128)
        sockets: list[aiohttp.ClientWebSocketResponse] = []

        async def one(token: str) -> None:
            async with slots:
                ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {token}"}, heartbeat=None)
                await ws.send_str(orjson.dumps({"id": 1, "type": "join"}).decode())
                while True:  # the join's reply (line frames may come first)
                    msg = orjson.loads((await ws.receive(timeout=60)).data)
                    if msg.get("type") == "result":
                        break
                sockets.append(ws)
                asyncio.ensure_future(_drain(ws))

        # Marginal cost: a first quarter of the crowd warms the worker (allocator arenas, caches,
        # first-call paths), then RSS is read before and after the other three quarters.
        warm = count // 4
        await asyncio.gather(*(one(t) for t in tokens[:warm]))
        await asyncio.sleep(1.0)
        await _snapshot(pid, trace, 1)
        before = harness.rss_kib(pid)
        await asyncio.gather(*(one(t) for t in tokens[warm:]))
        await asyncio.sleep(2.0)
        after = harness.rss_kib(pid)
        await _snapshot(pid, trace, 2)
        measured = len(sockets) - warm
        if trace:
            _print_trace(trace, measured)
        for ws in sockets:
            await ws.close()
    # Under tracemalloc the RSS says nothing: its own tables are ~150 MB, and the snapshot taken at
    # "before" frees memory that the sockets then reuse (it read 6 KiB where untraced runs read 16).
    per_client = None if trace else round((after - before) / max(measured, 1), 2)
    return {"waiting": len(sockets), "measured": measured, "rss_before_kib": before, "rss_after_kib": after,
            "kib_per_waiting_client": per_client}


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def arrival_cost(base: str, pid: int, count: int, users: str) -> dict[str, Any]:
    """Server CPU per arrival: `count` customers open the line's socket and join as fast as the
    load tool can (the lean client, 256 at a time), into a paused line; the worker's CPU is read
    before and after (the ticks' frames to the sockets already there included)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        admin = await _admin(session, base)
        sid = (await setup.create_screening(admin, 20, 25, "arrivals"))["screening"]
        await admin.call("PUT", f"/api/screenings/{sid}/waiting-room", {"mode": "always", "paused": True})
        tokens = await setup.customers(session, base, count, "arrivals", users)
    url = base.replace("http", "ws", 1) + f"/ws/screenings/{sid}/line"
    slots = asyncio.Semaphore(256)
    sockets: list[WaitingSocket] = []

    async def one(token: str) -> None:
        async with slots:
            joined = asyncio.get_running_loop().create_future()

            def on_text(data: bytes) -> None:
                if not joined.done() and b'"result"' in data:
                    joined.set_result(None)

            ws = await open_socket(url, {"Authorization": f"Bearer {token}"}, on_text, lambda: None)
            ws.send_text(b'{"id":1,"type":"join"}')
            await asyncio.wait_for(joined, 60)
            sockets.append(ws)

    profile = os.environ.get("HOUSEFUL_BENCH_PYSPY")  # a path: py-spy records the worker while they arrive
    spy = subprocess.Popen(["py-spy", "record", "-p", str(pid), "-r", "200", "-f", "raw", "-o", profile],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if profile else None
    if spy is not None:
        await asyncio.sleep(1.0)  # py-spy attaches
    before, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(one(t) for t in tokens))
    wall, used = time.perf_counter() - started, cpu_seconds(pid) - before
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        spy.wait(30)
    for ws in sockets:
        ws.close()
    return {"arrivals": count, "server_cpu_s": round(used, 2), "wall_s": round(wall, 2),
            "server_us_per_arrival": round(used / count * 1e6), "arrivals_per_s": round(count / wall)}


async def _snapshot(pid: int, trace: str | None, n: int) -> None:
    """Ask the server for tracemalloc snapshot n and wait until it is written."""
    if not trace:
        return
    os.kill(pid, signal.SIGUSR1)
    done = Path(f"{trace}.{n}.done")
    for _ in range(600):
        if done.exists():
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the server wrote no tracemalloc snapshot")


def _print_trace(trace: str, sockets: int, top: int = 30) -> None:
    """The biggest allocation differences between the two snapshots, per waiting socket."""
    before = tracemalloc.Snapshot.load(f"{trace}.1")
    after = tracemalloc.Snapshot.load(f"{trace}.2")
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    print(f"traced Python memory: {total / sockets:.0f} B per waiting socket", file=sys.stderr)
    for stat in stats[:top]:
        frame = stat.traceback[0]
        print(f"{stat.size_diff / sockets:8.0f} B {stat.count_diff / sockets:6.2f} blocks  "
              f"{frame.filename}:{frame.lineno}", file=sys.stderr)


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def main(argv: list[str] | None = None) -> int:
    """Both rushes and the memory probe; rewrite the section of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.waiting_room_bench", description=__doc__)
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--arrival", type=float, default=3.0)
    parser.add_argument("--waiters", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=100, help="admissions a second through the waiting room")
    parser.add_argument("--memory-only", action="store_true", help="only the memory probe; RESULTS.md untouched")
    parser.add_argument("--trace", action="store_true", help="memory probe: tracemalloc in the server, top sites")
    parser.add_argument("--processes", type=int, default=1, help="load processes (all on the load tool's core)")
    parser.add_argument("--jobs-in-node", action="store_true",
                        help="the job worker (emails, PDF tickets) inside the server process, as `serve` does by "
                             "default; without it, a separate `run.py worker` at nice 19 on the server's core")
    parser.add_argument("--arrivals-only", type=int, default=0, metavar="N",
                        help="only: server CPU per arrival (upgrade + join) for N arrivals at full speed")
    parser.add_argument("--only", choices=("line", "direct"),
                        help="one rush only, no memory probe (diagnosis; RESULTS.md untouched)")
    args = parser.parse_args(argv)
    harness.load_tool()
    OUT.mkdir(exist_ok=True)
    users = str(Path(os.environ.get("TMPDIR", "/tmp")) / f"houseful-wr-users-{os.getpid()}.json")
    runs: dict[str, Any] = {}
    try:
        async with harness.bench_env(auth=BENCH_AUTH) as env:
            port = harness.free_port()
            base = f"http://127.0.0.1:{port}"
            trace = str(OUT / f"line-trace-{os.getpid()}") if args.trace else None
            extra = {"HOUSEFUL_BENCH_TRACEMALLOC": trace} if trace else {}
            with contextlib.ExitStack() as stack:
                if not args.jobs_in_node:
                    extra["HOUSEFUL_JOBS_WORKER_IN_NODE"] = "false"
                proc = stack.enter_context(houseful(env, port, extra))
                await harness.wait_http(base + "/api/health", proc)
                if not args.jobs_in_node:
                    stack.enter_context(jobs_apart(env))
                if args.arrivals_only:
                    print(await arrival_cost(base, proc.pid, args.arrivals_only, users))
                    return 0
                if args.memory_only:
                    print(await waiting_memory(base, proc.pid, args.waiters, users, trace))
                    return 0
                print(f"server pid {proc.pid}", file=sys.stderr)
                for line in (False, True):
                    if args.only and args.only != ("line" if line else "direct"):
                        continue
                    text = io.StringIO()
                    async with aiohttp.ClientSession() as session:
                        scrape0 = await harness.scrape_server(session, base)
                        status, summary = await runner.run(_options(base, env, args, users, line), text)
                        scrape1 = await harness.scrape_server(session, base)
                    # The worker's own view (histogram bounds): what the load tool adds shows beside it.
                    summary["server_ack_p99_ms"] = harness.p99_ms(scrape0["ack"], scrape1["ack"])
                    summary["server_fanout_p99_ms"] = harness.p99_ms(scrape0["lag"], scrape1["lag"])
                    print(text.getvalue(), file=sys.stderr)
                    print(f"server's own hold-ack p99 ≤ {summary['server_ack_p99_ms']} ms, fan-out lag p99 ≤ "
                          f"{summary['server_fanout_p99_ms']} ms", file=sys.stderr)
                    runs["line" if line else "direct"] = {**summary, "exit_status": status}
                if args.only:
                    return 0
                runs["arrivals"] = await arrival_cost(base, proc.pid, min(args.clients, 5000), users)
            # Memory on a fresh worker: after two rushes of 10,000 sockets a worker reuses what they
            # freed, and RSS hardly grows (it read 0.7 KiB per waiting client).
            port = harness.free_port()
            fresh_base = f"http://127.0.0.1:{port}"
            with houseful(env, port, extra) as fresh:
                await harness.wait_http(fresh_base + "/api/health", fresh)
                runs["memory"] = await waiting_memory(fresh_base, fresh.pid, args.waiters, users)
    finally:
        if os.path.exists(users):
            os.unlink(users)
    write_section(RESULTS, BEGIN, END, render(runs, args))
    return 0


def render(runs: dict[str, Any], args: argparse.Namespace) -> str:
    """The RESULTS.md section."""
    d, w, m, a = runs["direct"], runs["line"], runs["memory"], runs["arrivals"]

    def lat(run: dict[str, Any], name: str) -> str:
        p = run["latency_ms"][name]
        return f"{p['p50']:.1f} / {p['p99']:.1f} ms" if p["count"] else "–"

    rows = [
        ("hold-ack p50 / p99 (admitted customers)", lat(d, "hold_ack"), lat(w, "hold_ack"), "p99 ≤ 100 ms"),
        ("broadcast lag p50 / p99", lat(d, "broadcast_lag"), lat(w, "broadcast_lag"), "p99 ≤ 250 ms"),
        ("the server's own hold-ack / fan-out lag p99 (its histograms' bounds)",
         f"≤ {d['server_ack_p99_ms']} / ≤ {d['server_fanout_p99_ms']} ms",
         f"≤ {w['server_ack_p99_ms']} / ≤ {w['server_fanout_p99_ms']} ms", ""),
        ("the load tool's own lag p50 / p99 (in every client-side figure)", lat(d, "load_lag"), lat(w, "load_lag"), ""),
        ("connect (upgrade → snapshot) p50 / p99", lat(d, "connect"), lat(w, "connect"), ""),
        ("time in line p50 / p99", "–", lat(w, "line_wait"), ""),
        ("position age p50 / p99 (how old a waiting client's place got)", "–", lat(w, "line_age"), "≤ 2 s"),
        ("time to houseful", f"{d['time_to_houseful_s']} s", f"{w['time_to_houseful_s']} s", ""),
        ("orders paid (seats sold)", f"{d['orders_paid']} ({d['sold']})", f"{w['orders_paid']} ({w['sold']})", ""),
        ("admitted / told sold out / left hanging", "–",
         f"{w.get('x_line_admitted')} / {w.get('x_line_told_sold_out')} / {w.get('x_line_left_hanging')}", "none hanging"),
        ("fairness inversions", "–", str(w.get("x_line_fairness_inversions")), "0"),
        ("errors", str(d["errors"]["total"]), str(w["errors"]["total"]), "0"),
        ("broken invariants", str(len(d["invariants"]["broken"])), str(len(w["invariants"]["broken"])), "0"),
    ]
    table = "\n".join(f"| {a} | {b} | {c} | {t} |" for a, b, c, t in rows)
    return f"""{BEGIN}
## Waiting room (issue 12): the same rush with and without it

`python -m bench.waiting_room_bench --clients {args.clients} --arrival {args.arrival} --waiters {args.waiters} --rate {args.rate}`:
one worker on core 0, the load tool on core 1, one 500-seat screening per run, the same users and
client code; every customer wants 2 seats, a fifth of them pay (as in "The rush" above); both runs
in the same session, each {duration(args):.0f} s at most (long enough to call every number at the rate).
Through the waiting room: {args.rate} admissions a second, no cap on shoppers (rush clients keep
watching after they hold, so a cap would stop the line; the cap is tested in
tests/test_waiting_room.py). Few seats are sold, so the screening never sells out here: "told sold
out" is exercised by the tests, not this run. {jobs_note(args)}

| figure | straight to the seat map | through the waiting room | target |
| --- | --- | --- | --- |
{table}

Memory: {m['waiting']} customers waiting in a paused line (each socket joined) on a fresh worker; its RSS with the
first quarter waiting → all of them: {m['rss_before_kib']} KiB → {m['rss_after_kib']} KiB over
{m['measured']} sockets, **{m['kib_per_waiting_client']} KiB per waiting client**
(goal ≤ 8 KiB; the seat-map socket's figure is in "Idle sockets" above).

Arrivals: {a['arrivals']} customers open the line's socket and join as fast as the load tool can
(`--arrivals-only N`): **{a['server_us_per_arrival']} µs of worker CPU per arrival** (upgrade, join,
and the ticks' frames to those already waiting), {a['arrivals_per_s']} arrivals a second.
{END}
"""


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main()))
