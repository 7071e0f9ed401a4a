"""A customer in a screening's waiting room (rush --waiting-room): join, watch the line, get the pass.

Measures the time in line (arrival -> admission pass), how old a waiting client's place gets
(at each line frame: receipt time minus the previous frame's server_time, the age the place on
screen had reached when this frame replaced it), and records (join sent, join answered, number) so the process
can count fairness inversions: someone whose join was answered before another's was even sent,
yet got a later number.
"""
from __future__ import annotations

import asyncio
import bisect
import time
from typing import Any, Callable

import aiohttp
import orjson

from loadtest.metrics import Metrics
from loadtest.wsproto import WaitingSocket, open_socket

LINE_TIMEOUT = 600.0  # longest a client waits in line before it counts as left hanging


class SoldOut(Exception):
    """The line was told the screening sold out."""


class Stopped(Exception):
    """The run ended while this client was still waiting."""


class LineClient:
    """One waiting socket (loadtest/wsproto.py: a frame costs one callback, no task or queue of its own).

    Nothing polls: the socket's callback wakes the client when its number is called, the line
    sells out or the socket closes, and the process wakes every waiting client once when the
    run stops (`wake`).
    """

    def __init__(self, session: aiohttp.ClientSession, target: str, screening_id: int, metrics: Metrics,
                 token: str, joins: list[tuple[float, float, int]], stop: Callable[[], bool] = lambda: False,
                 waiting: set[LineClient] | None = None) -> None:
        self.session, self.metrics, self.token, self.joins, self.stop = session, metrics, token, joins, stop
        self.url = target.rstrip("/").replace("http", "ws", 1) + f"/ws/screenings/{screening_id}/line"
        self.waiting = waiting if waiting is not None else set()  # the process's waiting clients (woken at stop)
        self.ws: WaitingSocket | None = None
        self.admitted = 0
        self.changed = asyncio.Event()
        self.replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.sold_out = False
        self.closed = False
        self.number: int | None = None  # frames wake this client only once its number is called
        self._next = 0
        self._seen = 0.0  # server_time (ms) of the last line frame
        self.ends_at = 0.0  # when the admission window ends (time.time())

    async def admission(self) -> str:
        """Wait in line until admitted; the pass. SoldOut when the screening sells out first, Stopped
        when the run ends first."""
        arrived = time.perf_counter()
        self.ws = await open_socket(self.url, {"Authorization": f"Bearer {self.token}"}, self._on_text,
                                    self._on_closed)
        self.waiting.add(self)
        try:
            sent = time.perf_counter()
            number = (await self._command("join"))["number"]
            self.joins.append((sent, time.perf_counter(), number))
            self.number = number
            async with asyncio.timeout(LINE_TIMEOUT):
                while self.admitted < number:
                    if self.sold_out:
                        raise SoldOut()
                    if self.stop():
                        raise Stopped()
                    if self.closed:
                        raise aiohttp.ClientConnectionError("the line's socket closed while waiting")
                    self.changed.clear()
                    await self.changed.wait()
            reply = await self._command("admission")
            token = reply["pass"]
            # The window's end on this machine's clock (the server's clock may be a test's).
            self.ends_at = time.time() + (reply["expires"] - (self._seen or reply["expires"])) / 1000
            self.metrics.record("line_wait", (time.perf_counter() - arrived) * 1e6)
            self.metrics.count("line_admitted")
            return token
        finally:
            self.waiting.discard(self)
            self.ws.close()

    def wake(self) -> None:
        """Look at stop() again (the process calls this once when the run stops)."""
        self.changed.set()

    async def _command(self, kind: str) -> dict[str, Any]:
        assert self.ws is not None
        if self.closed:
            raise aiohttp.ClientConnectionError(f"line {kind}: the socket is closed")
        self._next += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[self._next] = fut
        self.ws.send_text(orjson.dumps({"id": self._next, "type": kind}))
        reply = await asyncio.wait_for(fut, 60.0)
        if not reply["success"]:
            raise aiohttp.ClientError(f"line {kind}: {reply['error']['code']}")
        return reply["result"]

    def _on_text(self, data: bytes) -> None:
        frame = orjson.loads(data)
        kind = frame.get("type")
        self.metrics.counts["frames_in"] += 1
        if kind == "line":
            now_ms = time.time() * 1000
            self.metrics.record("line_age", max(now_ms - (self._seen or frame["server_time"]), 0) * 1000)
            self._seen = frame["server_time"]
            self.admitted = frame["admitted"]
            if self.number is not None and self.admitted >= self.number:
                self.changed.set()  # one wake-up per client, not one per frame
        elif kind == "sold_out":
            self.sold_out = True
            self.metrics.count("line_sold_out")
            self.changed.set()
        elif kind == "result":
            fut = self.replies.pop(frame.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(frame)

    def _on_closed(self) -> None:
        self.closed = True
        for fut in self.replies.values():
            if not fut.done():
                fut.set_exception(aiohttp.ClientConnectionError("the line's socket closed before the reply"))
        self.replies.clear()
        self.changed.set()


def inversions(joins: list[tuple[float, float, int]]) -> int:
    """Pairs (a, b) where a's join was answered before b's was sent, yet a's number is later."""
    found = 0
    answered: list[float] = []  # answer times of the numbers seen so far (the larger numbers)
    for sent, done, _ in sorted(joins, key=lambda j: -j[2]):
        found += bisect.bisect_left(answered, sent)  # larger numbers answered before this one was sent
        bisect.insort(answered, done)
    return found
