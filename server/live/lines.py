"""LineHub: this worker's waiting sockets, the admitter tick and the line's encode-once frame.

Every tick (waiting_room.tick_ms) and for each screening with waiting sockets here, the hub runs
the admitter script (only the lease holder admits; the others just read the figures), then
writes ONE frame, built once, to every waiting socket of that screening: "admitted up to N, the
last number given, the rate". Each client computes its own place from its number, so a tick
costs one Redis call per screening and one write per socket, whatever the length of the line.
The frame goes out every tick even when nothing changed: its server_time tells each client how
fresh its place is. A long line gets it in slices of SLICE sockets spread over SPREAD of the tick,
not all at once: 10,000 writes in one go stalled this worker's loop (and every seat map on it) for
tens of milliseconds each tick (bench/RESULTS.md, "Waiting room"). When the screening sells out, one "sold_out" frame tells the whole line,
with other screenings of the film, the line is emptied and the sockets are closed.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import orjson

from server.errors import STORE_OUTAGES, DomainError
from server.live import protocol as p
from server.live.holds import HoldStore
from server.live.line import Line
from server.metrics import LINE_ADMITTED, LINE_RATE, LINE_SHOPPING, LINE_WAITING

log = logging.getLogger(__name__)
CLOSE_SOLD_OUT = 4010  # the line's socket: the screening sold out (the sold_out frame came first)
SLICE = 250  # waiting sockets written in one go; then the loop serves everything else
SPREAD = 0.8  # share of the tick over which a long line's frame reaches every waiting socket


class Waiter(Protocol):
    """What the hub needs of a waiting socket (server/ws/line.py)."""

    screening_id: int

    def push(self, frame: bytes) -> None:
        """Write a shared frame without waiting."""

    def close(self, code: int, reason: str) -> None:
        """Close without waiting."""


class LineHub:
    """Waiting sockets by screening, and the task that admits and tells them."""

    def __init__(self, line: Line, holds: HoldStore, tick_ms: int) -> None:
        self.line, self.holds = line, holds
        self.tick = tick_ms / 1000
        self.waiting: dict[int, set[Waiter]] = {}
        self.last_frame: dict[int, bytes] = {}
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start the tick."""
        self._task = asyncio.create_task(self._run(), name="line-hub")

    async def close(self) -> None:
        """Stop the tick (waiting sockets are closed with every socket at shutdown)."""
        tasks = [t for t in (self._task, *self._deliveries) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def join(self, conn: Waiter) -> None:
        """A waiting socket arrives: it gets the last frame at once, then every tick's."""
        self.waiting.setdefault(conn.screening_id, set()).add(conn)
        frame = self.last_frame.get(conn.screening_id)
        if frame is not None:
            conn.push(frame)

    def leave(self, conn: Waiter) -> None:
        """A waiting socket goes (its place in line stays: it lives in Redis)."""
        group = self.waiting.get(conn.screening_id)
        if group is not None:
            group.discard(conn)
            if not group:
                del self.waiting[conn.screening_id]
                self.last_frame.pop(conn.screening_id, None)

    def sizes(self) -> dict[int, int]:
        """Waiting sockets per screening on this worker."""
        return {sid: len(group) for sid, group in self.waiting.items()}

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            # A periodic admitter: real time paces it, the clock dates it. Ticks are due at fixed
            # times, so a tick's own work (two round trips, a write per waiting socket: tens of ms
            # with 10,000 in line) does not stretch every period and age every waiting place.
            due += self.tick
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                due = loop.time()  # late (a busy loop): tick now, no burst of ticks to catch up
                await asyncio.sleep(0)
            for sid in list(self.waiting):
                try:
                    await self.tick_screening(sid)
                except (*STORE_OUTAGES, DomainError):
                    log.warning("line %s: tick failed", sid, exc_info=True)
                except Exception:
                    log.exception("line %s: tick crashed", sid)

    async def tick_screening(self, screening_id: int) -> None:
        """Admit who is due (if this worker leads), then tell this worker's waiting sockets."""
        figures = await self.line.admit(screening_id)
        counts = await self.holds.counts(screening_id)
        if counts["capacity"] and counts["sold"] >= counts["capacity"]:
            _record(screening_id, {**figures, "last": figures["admitted"], "early": 0})  # the line is emptied
            await self._sold_out(screening_id)
            return
        _record(screening_id, figures)
        message = {"type": "line", "admitted": figures["admitted"], "last": figures["last"],
                   "rate": figures["rate"], "paused": figures["paused"], "opened": figures["opened"],
                   "opens_at": figures["opens_at"], "shopping": figures["active"],
                   "server_time": self.line.clock.ms()}
        frame = p.text_frame(orjson.dumps(message))  # built once for the whole line
        self.last_frame[screening_id] = frame
        conns = tuple(self.waiting.get(screening_id, ()))
        if len(conns) <= SLICE:
            for conn in conns:
                conn.push(frame)
            return
        task = asyncio.create_task(self._deliver(conns, frame), name=f"line {screening_id} frame")
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, conns: tuple[Waiter, ...], frame: bytes) -> None:
        """Write the frame slice by slice, the slices due at even steps over SPREAD of the tick.

        Due times, not sleeps after each slice: a late loop writes the next slices at once
        (yielding between them) instead of pushing the whole round later. A round still going
        when the next tick comes finishes beside it: every socket gets every round's frame.
        """
        loop = asyncio.get_running_loop()
        step = self.tick * SPREAD * SLICE / len(conns)
        due = loop.time()
        for start in range(0, len(conns), SLICE):
            for conn in conns[start:start + SLICE]:
                conn.push(frame)
            due += step
            await asyncio.sleep(max(due - loop.time(), 0))

    async def _sold_out(self, screening_id: int) -> None:
        conf = await self.line.conf(screening_id)
        others = await self.line.others(conf["movie_id"], screening_id)
        await self.line.clear(screening_id)
        frame = p.text_frame(orjson.dumps({"type": "sold_out", "others": others,
                                           "message": "Sold out: every seat of this screening is taken."}))
        self.last_frame.pop(screening_id, None)
        for conn in tuple(self.waiting.pop(screening_id, ())):
            conn.push(frame)
            conn.close(CLOSE_SOLD_OUT, "sold out")


def _record(screening_id: int, figures: dict[str, Any]) -> None:
    """The line's figures for /metrics (every worker with waiting sockets reads the same ones)."""
    label = str(screening_id)
    LINE_WAITING.labels(label).set(max(figures["last"] - figures["admitted"], 0) + figures["early"])
    LINE_ADMITTED.labels(label).set(figures["admitted"])
    LINE_SHOPPING.labels(label).set(figures["active"])
    LINE_RATE.labels(label).set(figures["rate"])
