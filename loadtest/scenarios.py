"""The four scenarios, as what one load process does with its share of the clients.

rush         N customers arrive within T seconds, each holds k seats near the best spot (retrying
             on conflict, then hold_best), a fraction checks out and pays in the sandbox.
fanout       N anonymous watchers in one room; writers hold and release one seat each, R per second
             in all, for the duration (writers are spread so each stays under the room's rate limit).
connections  N idle anonymous sockets opened over the arrival window and kept for the duration.
soak         N customers loop for the duration: browse, hold, then buy (some cancel) or release.
             With --waiting-room each first queues for an admission, and queues again when it ends
             (a window over, or a purchase outside it: docs/waiting-room.md).
"""
from __future__ import annotations

import asyncio
import math
import random
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, NamedTuple

import aiohttp

from loadtest.client import Moviegoer, RoomClosed, SeatMap, SeatView
from loadtest.line import LineClient, SoldOut, Stopped, inversions
from loadtest.metrics import Metrics

SCENARIOS = ("rush", "fanout", "connections", "soak")
WRITER_RATE = 8.0  # commands/s per writer: below the room's default limit of 10/s
# A soak customer does not start another round (browse, hold, order) with less of its admission
# window left than this: it queues again (an order placed after the window is refused).
WINDOW_MARGIN_S = 5.0
WINDOW_SLACK_S = 0.5  # then it waits this long past the window's end (its estimate is a tick old) and queues
# Per process, at most this many clients parse event frames (lag, houseful, the shared view).
DEFAULT_SAMPLE = 1000
LAG_SAMPLE_S = 0.02  # the load tool samples its own loop lag this often (report: "load tool's own lag")


@dataclass
class Options:
    """Every knob of a run (the CLI fills these in; tests build them directly)."""

    scenario: str = "rush"
    target: str = "http://127.0.0.1:8080"
    clients: int = 100
    arrival_s: float = 5.0
    seats: int = 2
    checkout_fraction: float = 0.2
    duration_s: float = 60.0
    seed: int = 1
    processes: int = 1
    rate: float = 20.0
    think_ms: float = 200.0
    cancel_fraction: float = 0.3
    sample: int = DEFAULT_SAMPLE
    release_at_end: bool = False
    screening_id: int | None = None
    rows: int = 20
    per_row: int = 25
    users_file: str | None = None
    admin_email: str | None = None
    admin_password: str | None = None
    admin_token: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    key_prefix: str | None = None
    check: bool = True
    cleanup: bool = False
    json_path: str | None = "loadtest-report/summary.json"
    html_path: str | None = "loadtest-report/report.html"
    server_pid: int | None = None
    live: bool = True
    allow_remote: bool = False
    interval_s: float = 1.0
    waiting_room: bool = False  # rush, soak: the screening's waiting room is on; customers queue first
    admit_rate: int = 0  # admissions a second with --waiting-room (0: the server's default from capacity)
    max_active: int = 0  # most shoppers at once with --waiting-room (0: the server's default from capacity)

    def writers(self) -> int:
        """Writers the fanout scenario needs for its rate."""
        return max(1, math.ceil(self.rate / WRITER_RATE))

    def customers(self) -> int:
        """Logged-in users the scenario needs."""
        return {"rush": self.clients, "soak": self.clients, "fanout": self.writers()}.get(self.scenario, 0)


@dataclass
class Share:
    """One load process's part of a run."""

    index: int
    clients: list[int]  # global client numbers (seed the per-client randomness)
    tokens: list[str | None]
    writer_tokens: list[str] = field(default_factory=list)
    target: str = ""
    screening_id: int = 0
    seat_map: dict[str, Any] = field(default_factory=dict)
    t0: float = 0.0  # wall clock of the first arrival, common to every process


def raise_fd_limit() -> int:
    """Allow as many open sockets as the hard limit permits; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def _sleep_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _wait(stop: Callable[[], bool]) -> None:
    while not stop():
        await asyncio.sleep(0.1)


class Process:
    """The clients of one load process and the scenario they play."""

    def __init__(self, opts: Options, share: Share, metrics: Metrics, stop: Callable[[], bool]) -> None:
        self.opts, self.share, self.metrics, self.stop = opts, share, metrics, stop
        self.seat_map = SeatMap(share.seat_map) if share.seat_map else None
        self.view = SeatView(self.seat_map) if self.seat_map else None
        self.session: aiohttp.ClientSession | None = None
        self.joins: list[tuple[float, float, int]] = []  # the line's (join sent, answered, number)
        self.in_line: set[LineClient] = set()  # clients waiting in line now: woken once when the run stops
        self.stopped = asyncio.Event()  # set once by the one watcher of stop(): clients wait on it, none polls

    def moviegoer(self, token: str | None, n: int) -> Moviegoer:
        """A client of this process (the first `sample` of them measure event frames)."""
        assert self.session is not None
        return Moviegoer(self.session, self.share.target, self.share.screening_id, self.metrics, self.view,
                         token=token, sampled=n < self.opts.sample)

    async def run(self) -> None:
        """Play the scenario with every client of this share; returns when they are all done."""
        raise_fd_limit()
        connector = aiohttp.TCPConnector(limit=0, force_close=False, enable_cleanup_closed=True)
        timeout = aiohttp.ClientTimeout(total=60, connect=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            self.session = session
            play: Callable[[int, int, str | None], Awaitable[None]] = getattr(self, self.opts.scenario)
            tasks = [play(i, n, tok) for i, (n, tok) in enumerate(zip(self.share.clients, self.share.tokens))]
            if self.opts.scenario == "fanout" and self.share.index == 0:
                tasks += [self.writer(w, tok) for w, tok in enumerate(self.share.writer_tokens)]
            watchers = [asyncio.create_task(self._watch_stop()), asyncio.create_task(self._sample_lag())]
            try:
                await asyncio.gather(*(self._guard(t) for t in tasks))
            finally:
                for watcher in watchers:
                    watcher.cancel()
        if self.joins:
            self.metrics.count("line_inversions", inversions(self.joins))

    async def _watch_stop(self) -> None:
        """One watcher of stop() for the whole process, not a timer per client (10,000 clients polling
        every 0.1 s cost the load tool a fifth of its core): set `stopped`, wake the line."""
        await _wait(self.stop)
        self.stopped.set()
        for line in tuple(self.in_line):
            line.wake()

    async def _sample_lag(self) -> None:
        """How late this process's loop runs: a timer every LAG_SAMPLE_S, its lateness recorded.
        A busy load tool delays every reply and frame it reads; this says by how much."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_SAMPLE_S)
            self.metrics.record("load_lag", (loop.time() - asked - LAG_SAMPLE_S) * 1e6)

    async def _guard(self, coro: Awaitable[None]) -> None:
        """A client that breaks counts an error; it never stops the others."""
        try:
            await coro
        except (RoomClosed, aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            self.metrics.error("client_" + type(exc).__name__)

    def rng(self, n: int) -> random.Random:
        """The seeded randomness of client n (the same run plays the same way)."""
        return random.Random(self.opts.seed * 1_000_003 + n)

    # --- scenarios ------------------------------------------------------------------------------

    async def rush(self, i: int, n: int, token: str | None) -> None:
        """Arrive, look, hold k seats (retrying), maybe pay; keep watching until the run stops."""
        rng = self.rng(n)
        await _sleep_until(self.share.t0 + rng.uniform(0, self.opts.arrival_s))
        admission = await self.queue(token, first=True) if self.opts.waiting_room else None
        if self.opts.waiting_room and admission is None:
            self.metrics.count("finished")  # told "sold out" (or broke, counted): done
            return
        client = self.moviegoer(token, i)
        try:
            if not await client.connect():
                return
            if admission is not None:
                await client.command("admission", **{"pass": admission.token})
            await asyncio.sleep(rng.uniform(0, self.opts.think_ms / 1000))
            if await client.hold_seats(self.opts.seats, rng) and rng.random() < self.opts.checkout_fraction:
                await client.checkout()
        finally:
            self.metrics.count("finished")  # the run ends when every client has finished
        try:
            await self.stopped.wait()
            if self.opts.release_at_end and client.mine:
                await client.release_all()
        finally:
            await client.close()

    async def queue(self, token: str | None, first: bool = False) -> Admission | None:
        """Wait in the screening's line; the admission pass, or None when it sold out (or the run ended) first.

        `first`: the customer's arrival, counted once as served (admitted or told "sold out").
        """
        assert self.session is not None and token is not None
        line = LineClient(self.session, self.share.target, self.share.screening_id, self.metrics, token, self.joins,
                          self.stop, self.in_line)
        try:
            admission = Admission(await line.admission(), line.ends_at)
            self.metrics.count("line_arrivals_served" if first else "line_requeued")
            return admission
        except SoldOut:
            if first:
                self.metrics.count("line_arrivals_served")
            return None
        except Stopped:
            return None
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            self.metrics.error("line_" + type(exc).__name__)
            return None

    async def fanout(self, i: int, n: int, token: str | None) -> None:
        """An anonymous watcher for the duration."""
        rng = self.rng(n)
        await _sleep_until(self.share.t0 + rng.uniform(0, self.opts.arrival_s))
        client = self.moviegoer(None, i)
        if await client.connect():
            self.metrics.count("finished")
            await self.stopped.wait()
            await client.close()

    async def writer(self, w: int, token: str) -> None:
        """Hold and release one seat (the middle of segment w) at rate/writers per second."""
        assert self.seat_map is not None
        segment = self.seat_map.segments[w % len(self.seat_map.segments)]
        seat = segment[len(segment) // 2]
        client = Moviegoer(self.session, self.share.target, self.share.screening_id, self.metrics, None,  # type: ignore[arg-type]
                           token=token, sampled=False)
        await _sleep_until(self.share.t0 + self.opts.arrival_s + 1.0)  # the room is full of watchers by now
        if not await client.connect():
            return
        period = self.opts.writers() / self.opts.rate
        next_at = time.monotonic()
        try:
            held = False
            while not self.stop():
                reply = await client.command("release" if held else "hold", seats=[seat])
                if client._outcome(reply) is None:
                    held = not held
                    self.metrics.count("holds" if held else "releases")
                next_at += period
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if held:
                await client.command("release", seats=[seat])
        finally:
            await client.close()

    async def connections(self, i: int, n: int, token: str | None) -> None:
        """One idle socket, kept until the run stops."""
        rng = self.rng(n)
        await _sleep_until(self.share.t0 + rng.uniform(0, self.opts.arrival_s))
        client = self.moviegoer(None, self.opts.sample)  # idle sockets measure nothing but connect time
        if await client.connect(timeout=60.0):
            self.metrics.count("finished")
            await self.stopped.wait()
            await client.close()

    async def soak(self, i: int, n: int, token: str | None) -> None:
        """Browse, hold, then buy (and perhaps cancel) or release, again and again until the end;
        through the line first with --waiting-room (and again whenever the admission has ended)."""
        rng = self.rng(n)
        await _sleep_until(self.share.t0 + rng.uniform(0, self.opts.arrival_s))
        admission = await self.queue(token, first=True) if self.opts.waiting_room else None
        if self.opts.waiting_room and admission is None:
            return
        client = self.moviegoer(token, i)
        if not await client.connect():
            return
        sid = self.share.screening_id
        try:
            if admission is not None:
                await client.command("admission", **{"pass": admission.token})
            while not self.stop():
                if admission is not None and admission.ends_at - WINDOW_MARGIN_S <= time.time():
                    await _sleep_until(admission.ends_at + WINDOW_SLACK_S)  # let the window end
                    if self.stop():
                        break
                    admission = await self.queue(token)  # back to the line, at its end
                    if admission is None:
                        break
                    await client.command("admission", **{"pass": admission.token})
                await client._http("GET", f"/api/screenings/{sid}")
                await client._http("GET", f"/api/screenings/{sid}/seats")
                if await client.hold_seats(self.opts.seats, rng):
                    await asyncio.sleep(rng.uniform(0.2, 1.5))
                    if rng.random() < self.opts.checkout_fraction:
                        key = await client.checkout()
                        if key and rng.random() < self.opts.cancel_fraction:
                            if await client._http("POST", f"/api/orders/{key}/cancel") is not None:
                                self.metrics.count("cancelled")
                    else:
                        await client.release_all()
                await asyncio.sleep(rng.uniform(0.5, 2.0))
            await client.release_all()
        finally:
            await client.close()



class Admission(NamedTuple):
    """An admission pass and when its window ends (time.time())."""

    token: str
    ends_at: float
