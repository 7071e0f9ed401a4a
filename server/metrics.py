"""Prometheus metrics: what an operator plots on release night (docs/operations.md).

One set of metrics per process. When `run.py serve --workers N` runs several workers, the
supervisor points PROMETHEUS_MULTIPROC_DIR at a fresh folder before starting them, so every
worker's samples land in shared files and any worker's /metrics answers for all of them
(prometheus-client's multiprocess mode). Gauges there add up the live workers' values.
"""
from __future__ import annotations

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
BUS_CHANNELS = Gauge("houseful_bus_channels", "Pub/sub channels the workers' event buses listen on",
                     multiprocess_mode="livesum")
BUS_RECONNECTS = Counter("houseful_bus_reconnects_total", "Event-bus connections lost and resubscribed")


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


def exposition(extra: CollectorRegistry | None = None) -> bytes:
    """The text exposition of every worker's metrics, plus `extra` (collected at scrape time)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY
        text = generate_latest(REGISTRY)
    return text + (generate_latest(extra) if extra is not None else b"")
