"""Prometheus metrics: what an operator plots on release night (docs/operations.md).

One set of metrics per process. When `run.py serve --workers N` runs several workers, the
supervisor points PROMETHEUS_MULTIPROC_DIR at a fresh folder before starting them, so every
worker's samples land in shared files and any worker's /metrics answers for all of them
(prometheus-client's multiprocess mode). Gauges there add up the live workers' values.
"""
from __future__ import annotations

import asyncio
import bisect
import os
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: from a fast Redis round trip to a request stuck behind a rush.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter("houseful_http_requests_total", "HTTP requests served, by route and status",
                        ("method", "route", "status"))
HTTP_SECONDS = Histogram("houseful_http_request_seconds", "Time to answer an HTTP request", ("route",),
                         buckets=LATENCY_BUCKETS)
SOCKETS_OPEN = Gauge("houseful_sockets_open", "Open WebSockets by kind (room, line, dashboard)", ("kind",),
                     multiprocess_mode="livesum")
WS_COMMANDS = Counter("houseful_ws_commands_total", "WebSocket commands by socket kind, command and result",
                      ("kind", "command", "result"))
WS_COMMAND_SECONDS = Histogram("houseful_ws_command_seconds", "Time from a command's arrival to its reply "
                               "(command=hold is the hold-ack latency)", ("kind", "command"), buckets=LATENCY_BUCKETS)
HOLDS_REFUSED_HERE = Counter("houseful_holds_refused_in_room_total", "Holds refused by the worker's room, which "
                             "knew the seats were taken (no Redis call; server/live/taken.py)")
BUS_CHANNELS = Gauge("houseful_bus_channels", "Pub/sub channels the workers' event buses listen on",
                     multiprocess_mode="livesum")
BUS_RECONNECTS = Counter("houseful_bus_reconnects_total", "Event-bus connections lost and resubscribed")
ROOMS_OPEN = Gauge("houseful_rooms_open", "Screenings with a seat-map room open (summed over workers)",
                   multiprocess_mode="livesum")
FANOUT_LAG_SECONDS = Histogram("houseful_fanout_lag_seconds", "From an event's publish (its Lua script's clock "
                               "time) to its frame being written to the room's sockets; once per frame, for "
                               "the oldest event in it", buckets=LATENCY_BUCKETS)
# Timed per round trip, not per script: in a rush one pipeline carries hundreds of holds, and an
# observation per hold would cost more than the hold's share of the pipeline (bench/metrics_cost.py).
REDIS_SCRIPT_SECONDS = Histogram("houseful_redis_script_seconds", "A round trip of Lua scripts to Redis: the live "
                                 "seats' (one pipeline of the tick's calls) or the waiting room's", ("scripts",),
                                 buckets=LATENCY_BUCKETS)
PG_QUERY_SECONDS = Histogram("houseful_pg_query_seconds", "A PostgreSQL statement, sent to answered",
                             buckets=LATENCY_BUCKETS)
PG_ACQUIRE_SECONDS = Histogram("houseful_pg_acquire_seconds", "Waiting for a PostgreSQL pool connection",
                               buckets=LATENCY_BUCKETS)
RECONCILER_ACTIONS = Counter("houseful_reconciler_actions_total", "Stuck orders (or sold caches) the reconciler "
                             "finished, by action", ("action",))
WEBHOOKS = Counter("houseful_payment_webhooks_total", "Payment-provider webhook deliveries received, by result "
                   "(applied, replayed, refused, failed)", ("result",))
# The waiting room's figures live in Redis; every worker with waiting sockets reads them each tick,
# so the most recent reading of any live worker is the figure (not their sum).
LINE_WAITING = Gauge("houseful_line_waiting", "Customers waiting in a screening's line", ("screening",),
                     multiprocess_mode="livemostrecent")
LINE_ADMITTED = Gauge("houseful_line_admitted", "Numbers admitted so far from a screening's line (rate() of it "
                      "is the admission rate)", ("screening",), multiprocess_mode="livemostrecent")
LINE_SHOPPING = Gauge("houseful_line_shopping", "Admitted customers shopping (pass not expired)", ("screening",),
                      multiprocess_mode="livemostrecent")
EVENT_LOOP_LAG = Gauge("houseful_event_loop_lag_seconds", "How late a worker's event loop runs: the median "
                       "lateness of a 20 ms timer over the last second (the worst worker's)",
                       multiprocess_mode="livemax")
LINE_RATE = Gauge("houseful_line_admit_per_second", "The rate a line admits at now: its policy's, a tenth of it while a server is busy", ("screening",),
                  multiprocess_mode="livemostrecent")


def multiprocess_dir() -> str | None:
    """The shared samples folder when workers share their metrics, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess(folder: Path) -> None:
    """Start a clean samples folder (named by the supervisor's pid) before any worker starts.

    Folders of supervisors that are gone (killed before they could clean up) are removed too.
    """
    for old in folder.parent.glob("*") if folder.parent.is_dir() else ():
        if old.name.isdigit() and not _running(int(old.name)):
            forget_folder(old)
    forget_folder(folder)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)


def forget_folder(folder: Path) -> None:
    """Remove a samples folder."""
    shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_ended(pid: int) -> None:
    """Forget a dead worker's live gauges (its counters stay: they count what happened)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


class CommandTally:
    """houseful_ws_commands_total and houseful_ws_command_seconds, counted in this process's memory
    and added to the (shared, in multiprocess mode: mmap'ed) values within a second and before
    every scrape this process answers. One command used to cost three locked writes there, ~4.5 µs,
    several % of a hold in a rush (issue 13); now a dict update, and a few writes a second.
    """

    def __init__(self, counter: Counter, histogram: Histogram, bounds: tuple[float, ...]) -> None:
        self._counter, self._histogram, self._bounds = counter, histogram, bounds
        self._counts: dict[tuple[str, str, str], int] = {}
        self._times: dict[tuple[str, str], list[float]] = {}  # [sum, count per bucket..., +Inf]
        self._timer: asyncio.TimerHandle | None = None

    def add(self, kind: str, command: str, result: str, seconds: float) -> None:
        """One command answered with `result` after `seconds` (call it inside the event loop)."""
        key = (kind, command, result)
        self._counts[key] = self._counts.get(key, 0) + 1
        times = self._times.get((kind, command))
        if times is None:
            times = self._times[kind, command] = [0.0] * (len(self._bounds) + 2)
        times[0] += seconds
        times[1 + bisect.bisect_left(self._bounds, seconds)] += 1  # the bucket observe() would pick
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(1.0, self.flush)

    def flush(self) -> None:
        """Add what was counted since the last flush to the exported values."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        counts, self._counts = self._counts, {}
        times, self._times = self._times, {}
        for key, n in counts.items():
            self._counter.labels(*key).inc(n)
        for key, sums in times.items():
            child = self._histogram.labels(*key)
            # observe() in bulk: prometheus-client (pinned) keeps a sum and one value per bucket.
            child._sum.inc(sums[0])
            for bucket, n in zip(child._buckets, sums[1:]):
                if n:
                    bucket.inc(n)


COMMANDS_TALLY = CommandTally(WS_COMMANDS, WS_COMMAND_SECONDS, LATENCY_BUCKETS)


def exposition(extra: CollectorRegistry | None = None) -> bytes:
    """The text exposition of every worker's metrics, plus `extra` (collected at scrape time)."""
    COMMANDS_TALLY.flush()
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY
        text = generate_latest(REGISTRY)
    return text + (generate_latest(extra) if extra is not None else b"")
