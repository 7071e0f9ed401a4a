"""A whole load run: set up, start the load processes, watch them live, merge, check, report, clean up.

With one process the clients run on the caller's event loop (tests use this); with several,
each is a spawned process with its own uvloop, sending live counters to the parent a few times
a second and its encoded metrics once at the end. Every run is bounded in clients and time and
stops by itself; processes that do not finish are terminated by their pid.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import multiprocessing
import queue
import socket
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, TextIO
from urllib.parse import urlsplit

import aiohttp

from loadtest import invariants, report, setup
from loadtest.live_view import LiveView
from loadtest.metrics import Metrics
from loadtest.scenarios import Options, Process, Share, raise_fd_limit
from server.gc_tuning import tune_for_serving

MAX_CLIENTS = 100_000
MAX_SECONDS = 3_600.0
SPAWN_GRACE_SECONDS = 4.0  # the first arrival waits this long so spawned processes are ready


class RunError(Exception):
    """The run cannot start (bad options, unreachable target, setup refused)."""


def is_loopback(target: str) -> bool:
    """Does the target URL name this machine?"""
    host = urlsplit(target).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        with contextlib.suppress(OSError):
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        return False


def validate(opts: Options) -> None:
    """Refuse runs that are unbounded, nonsensical or aimed off this machine without --allow-remote."""
    if not 1 <= opts.clients <= MAX_CLIENTS:
        raise RunError(f"--clients must be 1..{MAX_CLIENTS}")
    if not 0 < opts.duration_s <= MAX_SECONDS or not 0 <= opts.arrival_s <= MAX_SECONDS:
        raise RunError(f"--duration and --arrival must be within {MAX_SECONDS:g} s")
    if not 1 <= opts.processes <= 64 or not 1 <= opts.seats <= 100 or not 0 <= opts.checkout_fraction <= 1:
        raise RunError("--processes 1..64, --seats 1..100, --checkout-fraction 0..1")
    if not 0 < opts.rate <= 100_000:
        raise RunError("--rate must be positive")
    if not is_loopback(opts.target) and not opts.allow_remote:
        raise RunError(f"{opts.target} is not this machine: pass --allow-remote to load a remote deployment")


def _shares(opts: Options, plan: setup.Plan, t0: float) -> list[Share]:
    shares = []
    tokens: list[str | None] = list(plan.tokens) if opts.scenario in ("rush", "soak") else [None] * opts.clients
    writer_tokens = plan.tokens if opts.scenario == "fanout" else []
    for p in range(opts.processes):
        mine = list(range(p, opts.clients, opts.processes))
        shares.append(Share(p, mine, [tokens[n] for n in mine], writer_tokens if p == 0 else [],
                            plan.target, plan.screening_id, plan.seat_map, t0))
    return shares


def _process_main(opts: Options, share: Share, live_q: Any, result_q: Any, stop: Any) -> None:
    """Entry of a spawned load process: its own uvloop, its share of the clients."""
    import uvloop

    uvloop.run(_process_async(opts, share, live_q, result_q, stop))


async def _process_async(opts: Options, share: Share, live_q: Any, result_q: Any, stop: Any) -> None:
    tune_for_serving()  # thousands of client sockets: the same collector settings as a worker
    metrics = Metrics(opts.interval_s, started=share.t0)

    async def publish() -> None:
        while True:
            live_q.put((share.index, metrics.live()))
            await asyncio.sleep(0.25)

    reporter = asyncio.create_task(publish())
    try:
        await Process(opts, share, metrics, stop.is_set).run()
    finally:
        reporter.cancel()
        live_q.put((share.index, metrics.live()))
        result_q.put((share.index, metrics.encode()))


class Crew:
    """The running load processes (or the in-process one) as seen from the parent."""

    def __init__(self, opts: Options, shares: list[Share]) -> None:
        self.opts, self.shares = opts, shares
        self.local: Metrics | None = None
        self._stop = False
        self._latest: dict[int, dict[str, Any]] = {}
        self._procs: list[Any] = []
        self._task: asyncio.Task[None] | None = None
        if opts.processes == 1:
            self.local = Metrics(opts.interval_s, started=shares[0].t0)
        else:
            ctx = multiprocessing.get_context("spawn")
            self._live_q, self._result_q, self._stop_ev = ctx.Queue(), ctx.Queue(), ctx.Event()
            self._procs = [ctx.Process(target=_process_main, daemon=True,
                                       args=(opts, s, self._live_q, self._result_q, self._stop_ev)) for s in shares]

    def start(self) -> None:
        """Start the clients."""
        if self.local is not None:
            self._task = asyncio.create_task(Process(self.opts, self.shares[0], self.local, self.stopped).run())
        for proc in self._procs:
            proc.start()

    def stopped(self) -> bool:
        """Has the run been told to stop?"""
        return self._stop

    def stop(self) -> None:
        """Tell every client to finish."""
        self._stop = True
        if self._procs:
            self._stop_ev.set()

    def live(self) -> dict[str, Any]:
        """The live counters summed over the processes."""
        if self.local is not None:
            return self.local.live()
        with contextlib.suppress(queue.Empty):
            while True:
                index, stats = self._live_q.get_nowait()
                self._latest[index] = stats
        total: dict[str, Any] = {"houseful_at": None}
        for stats in self._latest.values():
            for key, value in stats.items():
                if key == "houseful_at":
                    if value is not None and (total[key] is None or value < total[key]):
                        total[key] = value
                else:
                    total[key] = total.get(key, 0) + value
        return total

    async def finish(self, timeout: float = 60.0) -> Metrics:
        """Wait for every process and merge their metrics (terminating, by pid, any that hang)."""
        if self.local is not None:
            assert self._task is not None
            await asyncio.wait_for(self._task, timeout)
            return self.local
        parts: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while len(parts) < len(self._procs) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                parts.append((await loop.run_in_executor(None, self._result_q.get, True, 1.0))[1])
            self.live()  # keep draining so no process blocks on a full queue
        for proc in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        if len(parts) < len(self._procs):
            raise RunError(f"{len(self._procs) - len(parts)} load process(es) did not report")
        return Metrics.merged(parts, self.opts.interval_s, self.shares[0].t0)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _drive(opts: Options, crew: Crew, t0: float, on_tick: Callable[[dict[str, Any]], None]) -> None:
    """Stop the crew when the scenario is over: every rush client finished, or the time is up."""
    end = t0 + opts.arrival_s + opts.duration_s
    while time.time() < end:
        stats = crew.live()
        on_tick(stats)
        if opts.scenario == "rush" and stats.get("finished", 0) >= opts.clients:
            break
        await asyncio.sleep(0.1)
    crew.stop()


async def run(opts: Options, out: TextIO | None = None,
              on_start: Callable[[], Any] | None = None) -> tuple[int, dict[str, Any]]:
    """One complete run; returns (exit status, summary). 0 passed, 1 broken invariant, 3 errors.

    `on_start` is called once setup is done, just before the clients start (e.g. to start a profiler).
    """
    out = out or sys.stdout
    validate(opts)
    raise_fd_limit()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        admin = await _admin(session, opts)
        plan = await setup.prepare(session, opts.target, admin=admin, screening_id=opts.screening_id,
                                   users=opts.customers(), rows=opts.rows, per_row=opts.per_row,
                                   users_file=opts.users_file)
        if opts.waiting_room:
            await setup.open_waiting_room(admin, plan.screening_id, opts.admit_rate, opts.max_active)
        t0 = time.time() + (SPAWN_GRACE_SECONDS if opts.processes > 1 else 0.2)
        crew = Crew(opts, _shares(opts, plan, t0))
        extra = _Probe(opts, t0)
        view = LiveView(crew.live, lambda: _progress(opts, crew, t0), enabled=opts.live)
        if on_start is not None:
            on_start()
        crew.start()
        view.start()
        try:
            await _drive(opts, crew, t0, extra.tick)
            metrics = await crew.finish()
        finally:
            crew.stop()
            await view.stop()
        ended = time.time()
        violations = await _check(opts, plan)
        meta = {"scenario": opts.scenario, "target": opts.target, "screening_id": plan.screening_id,
                "clients": opts.clients, "processes": opts.processes, "seed": opts.seed,
                "options": {k: v for k, v in asdict(opts).items() if "password" not in k and "token" not in k}}
        summary = report.summarise(metrics, meta=meta, ended=ended, rush_started=t0, violations=violations,
                                   extra=extra.figures(metrics))
        if opts.cleanup and admin is not None:
            summary["cleanup_kept"] = await setup.cleanup(admin, plan)
    out.write(report.render_text(summary) + "\n")
    if opts.json_path:
        report.write_json(summary, opts.json_path)
    if opts.html_path:
        report.write_html(summary, metrics, opts.html_path)
    if violations:
        return 1, summary
    return (0 if summary["passed"] else 3), summary


async def _admin(session: aiohttp.ClientSession, opts: Options) -> setup.Admin | None:
    if opts.admin_token:
        return setup.Admin(session, opts.target, opts.admin_token)
    if opts.admin_email and opts.admin_password:
        return await setup.Admin.login(session, opts.target, opts.admin_email, opts.admin_password)
    return None


async def _check(opts: Options, plan: setup.Plan) -> list[dict[str, Any]] | None:
    if not opts.check or not opts.database_url or not opts.redis_url or opts.key_prefix is None:
        return None
    found = await invariants.check(opts.database_url, opts.redis_url, opts.key_prefix, [plan.screening_id])
    return [v.to_dict() for v in found]


def _progress(opts: Options, crew: Crew, t0: float) -> float:
    if opts.scenario == "rush":
        return min(1.0, crew.live().get("finished", 0) / opts.clients)
    return min(1.0, max(0.0, (time.time() - t0) / (opts.arrival_s + opts.duration_s)))


class _Probe:
    """Figures only some scenarios have: server memory per idle socket, the writers' achieved rate."""

    def __init__(self, opts: Options, t0: float) -> None:
        self.opts, self.t0 = opts, t0
        self.baseline = _rss_kib(opts.server_pid) if opts.server_pid else 0
        self.peak_rss = 0
        self.peak_connected = 0

    def tick(self, stats: dict[str, Any]) -> None:
        """Sample the server's RSS while the sockets are open."""
        if self.opts.server_pid and self.opts.scenario == "connections":
            connected = stats.get("connected", 0)
            if connected >= self.peak_connected and connected:
                self.peak_connected = connected
                self.peak_rss = _rss_kib(self.opts.server_pid)

    def figures(self, metrics: Metrics) -> dict[str, Any]:
        """x_ figures for the summary (printed and in the JSON)."""
        out: dict[str, Any] = {}
        if self.opts.scenario == "connections" and self.opts.server_pid and self.peak_connected:
            out["x_server_rss_baseline_kib"] = self.baseline
            out["x_server_rss_peak_kib"] = self.peak_rss
            out["x_sockets_at_peak"] = self.peak_connected
            out["x_rss_per_socket_kib"] = round((self.peak_rss - self.baseline) / self.peak_connected, 2)
        if self.opts.waiting_room:
            c = metrics.counts
            out["x_line_admitted"] = c["line_admitted"]  # admissions (a soak customer may queue again)
            out["x_line_requeued"] = c["line_requeued"]
            out["x_line_told_sold_out"] = c["line_sold_out"]
            # Arrivals neither admitted nor told "sold out" (a client still waiting when the run ended counts).
            out["x_line_left_hanging"] = max(self.opts.clients - c["line_arrivals_served"], 0)
            out["x_line_fairness_inversions"] = c["line_inversions"]
        if self.opts.scenario == "fanout":
            writes = metrics.counts["holds"] + metrics.counts["releases"]
            out["x_writes_per_s"] = round(writes / max(self.opts.duration_s - 1.0, 1e-9), 1)
            out["x_frames_per_s_per_watcher"] = round(
                metrics.counts["frames_in"] / max(self.opts.clients, 1) / max(self.opts.duration_s, 1e-9), 2)
        return out

