"""`run.py serve`: one listening socket, N worker processes on it, and a parent that supervises them.

The parent first binds the port WITHOUT SO_REUSEPORT, so a second server on a busy port fails
with "address already in use" instead of silently splitting the traffic with an unrelated one.
For N workers it then binds one SO_REUSEPORT socket per worker itself (the kernel spreads new
connections evenly across them) and hands each worker its socket (aiohttp's SockSite); no other
process can start on the port, since it would first need the port free. One shared socket was
measured too: accept bursts left 2 workers at 1:2 and 4 at 1:3, against the kernel's even hash.
The parent keeps every socket open, so connections arriving for a worker that died wait in its
queue until the replacement takes them over. It restarts dead workers (with backoff and a log
line) and, on SIGTERM or SIGINT, stops every worker and exits 0.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from server.clock import Clock, SystemClock
from server.config import Settings, data_path
from server.gc_tuning import tune_for_serving
from server import metrics
from server.logs import setup_logging

log = logging.getLogger("houseful")
LISTEN_BACKLOG = 4096  # pending connections the listening socket queues (a rush arrives at once)
RESTART_FIRST_SECONDS = 0.5  # first restart delay of a dead worker; doubles per quick death ...
RESTART_MAX_SECONDS = 30.0  # ... up to this
HEALTHY_SECONDS = 60.0  # a worker that lived this long starts the backoff afresh when it dies
STOP_SECONDS = 15.0  # how long stopping workers may take before they are killed


class PortBusy(Exception):
    """The address is taken (another server, or this one already running)."""


def listen(host: str, port: int, workers: int) -> list[socket.socket]:
    """The listening sockets, one per worker; PortBusy if anything else holds the port.

    A deep accept queue: the default of 128 drops the SYNs of a rush (thousands of sockets within
    seconds), and a dropped SYN is retried only after 1, 3, 7... s. The kernel caps it at
    net.core.somaxconn.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        # SO_REUSEADDR only (create_server's default on POSIX): it lets a restart bind while old
        # connections sit in TIME_WAIT, but never lets two servers listen on one port.
        first = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG, reuse_port=False)
        if workers == 1:
            return [first]
        port = first.getsockname()[1]  # the port given, or the one the kernel chose for 0
        first.close()
        return [socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG, reuse_port=True)
                for _ in range(workers)]
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortBusy(f"cannot listen on {host}:{port}: address already in use "
                           "(another server is running there; stop it or choose another port)") from None
        raise


async def serve_worker(settings: Settings, clock: Clock, sock: socket.socket) -> None:
    """One worker: the app on the inherited listening socket until SIGTERM or SIGINT."""
    from aiohttp import web

    from server.app import HousefulRunner, create_app

    if not isinstance(clock, SystemClock):
        log.warning("TESTING ONLY: worker %d runs on a shifted clock (%s)", os.getpid(), clock.describe())
    from server.request_log import AccessLogger, access_logger

    runner = HousefulRunner(create_app(settings, clock), shutdown_timeout=5,
                            access_log=access_logger() if settings.server.access_log else None,
                            access_log_class=AccessLogger)
    await runner.setup()
    # SockSite re-listens with its own backlog, so it is given the deep one too.
    site = web.SockSite(runner, sock, backlog=LISTEN_BACKLOG)
    await site.start()
    tune_for_serving()  # the app is built: freeze it, and keep full collections out of a rush
    host, port = sock.getsockname()[:2]
    log.info("worker %d serving on http://%s:%s", os.getpid(), host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        metrics.COMMANDS_TALLY.flush()  # the last second's commands, counted before the worker goes


def run(coro: Any) -> None:
    """Run a coroutine on uvloop; Ctrl-C ends it quietly."""
    import uvloop

    try:
        uvloop.run(coro)
    except KeyboardInterrupt:
        pass


def _worker_main(settings: Settings, clock: Clock, sock: socket.socket) -> None:
    setup_logging(settings)
    run(serve_worker(settings, clock, sock))


@dataclass
class _Slot:
    """One worker position: its current process, and when and how soon to restart it."""

    index: int
    proc: Any = None
    started: float = 0.0
    delay: float = RESTART_FIRST_SECONDS
    restart_at: float | None = None


class Supervisor:
    """Keeps `workers` processes serving on one socket; restarts the dead, stops all on a signal."""

    def __init__(self, settings: Settings, clock: Clock, socks: list[socket.socket]) -> None:
        self.settings, self.clock, self.socks = settings, clock, socks
        self.ctx = multiprocessing.get_context("spawn")
        self.slots = [_Slot(i) for i in range(len(socks))]
        self.stopping = False
        # A signal handler only writes a byte here; the loop below wakes on it at once.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def _start(self, slot: _Slot) -> None:
        slot.proc = self.ctx.Process(target=_worker_main, args=(self.settings, self.clock, self.socks[slot.index]),
                                     name=f"houseful-worker-{slot.index}", daemon=False)
        slot.proc.start()
        slot.started, slot.restart_at = time.monotonic(), None
        log.info("started worker %d (pid %d)", slot.index, slot.proc.pid)

    def _reap(self, slot: _Slot) -> None:
        """A worker ended by itself: log it and schedule its restart with backoff."""
        code = slot.proc.exitcode
        lived = time.monotonic() - slot.started
        if lived >= HEALTHY_SECONDS:
            slot.delay = RESTART_FIRST_SECONDS
        metrics.worker_ended(slot.proc.pid)
        log.warning("worker %d (pid %d) exited with %s after %.1fs; restarting it in %.1fs",
                    slot.index, slot.proc.pid, _describe_exit(code), lived, slot.delay)
        slot.restart_at = time.monotonic() + slot.delay
        slot.delay = min(slot.delay * 2, RESTART_MAX_SECONDS)
        slot.proc = None

    def run(self) -> int:
        """Supervise until SIGTERM or SIGINT; returns the exit status (0 after a clean stop)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        for slot in self.slots:
            self._start(slot)
        while not self.stopping:
            now = time.monotonic()
            for slot in self.slots:
                if slot.proc is None and slot.restart_at is not None and slot.restart_at <= now:
                    self._start(slot)
            due = [s.restart_at for s in self.slots if s.restart_at is not None]
            timeout = max(0.0, min(due) - time.monotonic()) if due else None
            alive = {s.proc.sentinel: s for s in self.slots if s.proc is not None}
            for ready in wait([*alive, self._wake_r], timeout):
                if ready in alive and not self.stopping:
                    alive[ready].proc.join()
                    self._reap(alive[ready])
        return self._stop_all()

    def _stop_all(self) -> int:
        log.info("stopping %d workers", sum(1 for s in self.slots if s.proc is not None))
        running = [s.proc for s in self.slots if s.proc is not None]
        for proc in running:
            if proc.is_alive() and proc.pid:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in running:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                log.warning("worker pid %d did not stop within %.0fs; killing it", proc.pid, STOP_SECONDS)
                proc.kill()
                proc.join()
        for sock in self.socks:
            sock.close()
        log.info("stopped")
        return 0


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


def serve(settings: Settings, clock: Clock, socks: list[socket.socket]) -> int:
    """Serve on the bound sockets: in this process for one, else one supervised worker per socket."""
    if len(socks) == 1:
        run(serve_worker(settings, clock, socks[0]))
        socks[0].close()
        return 0
    shared = None if metrics.multiprocess_dir() else data_path(settings) / "metrics" / str(os.getpid())
    if shared is not None:
        metrics.prepare_multiprocess(shared)
    try:
        return Supervisor(settings, clock, socks).run()
    finally:
        if shared is not None:
            metrics.forget_folder(shared)


def fail(message: str) -> int:
    """Say why the server cannot start; the exit status."""
    print(f"run.py serve: {message}", file=sys.stderr)
    return 1
