"""The staff feed: per-screening occupancy, kept live from every screening's events.

One hub per worker. While any dashboard socket is open it holds ONE pattern subscription to
every screening's event channel; an event for a screening some dashboard shows marks it
dirty, and a tick (websocket.dashboard_tick_ms) recomputes the dirty screenings' figures and
sends each dashboard the changed rows its filter shows, encoded once per distinct filter.
Knows nothing of aiohttp: a dashboard is a `Viewer` with a bounded queue of encoded frames.
"""
from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.clock import Clock
from server.domain import days
from server.domain.days import DayRange
from server.errors import NotFound
from server.keyspace import KeySpace
from server.live.holds import HoldStore
from server.live.line import Line
from server.live.protocol import CLOSE_GOING_AWAY, CLOSE_TOO_SLOW
from server.redis_client import pubsub as open_pubsub

log = logging.getLogger(__name__)

MAX_DAYS = 31  # widest date range one filter may ask for
MAX_SCREENINGS = 500  # most rows one list carries (keeps a full list cheap to compute)
# Redis calls the hub makes at once, across lists and ticks: the client's pool is bounded and
# raises rather than waits when exhausted, and the rooms need most of it.
REDIS_CONCURRENCY = 16
SUBSCRIBE_TIMEOUT = 5.0  # seconds to wait for Redis to confirm the pattern subscription
# Only these change money or the waiting list (read from PostgreSQL), so only these cost SQL; so
# does a "held" event with offer: true (seats handed to the waiting list, maybe refunded ones).
TAKINGS_EVENTS = frozenset({"sold", "freed", "waitlist"})
LINE_SECONDS = 1.0  # how often the dashboard refreshes screenings whose waiting room is on
FIGURES = ("capacity", "sold", "held", "free", "houseful", "version")


def totals(rows: Iterable[dict[str, Any]], currency: str) -> dict[str, Any]:
    """Sums over the rows; `houseful` counts the houseful screenings."""
    out: dict[str, Any] = {"screenings": 0, "capacity": 0, "sold": 0, "held": 0, "free": 0,
                           "houseful": 0, "takings": 0, "waiting": 0, "currency": currency}
    for row in rows:
        out["screenings"] += 1
        for name in ("capacity", "sold", "held", "free", "takings", "waiting"):
            out[name] += row[name]
        out["houseful"] += bool(row["houseful"])
    return out


class Viewer:
    """One open dashboard: its filter, the screenings it shows, and a bounded queue of frames."""

    def __init__(self, flt: DayRange, max_frames: int, close: Callable[[int, str], None]) -> None:
        self.filter = flt
        self.shown: frozenset[int] = frozenset()
        self.frames: asyncio.Queue[bytes] = asyncio.Queue(max_frames)
        self.dropped = False
        self._close = close

    def offer(self, frame: bytes) -> bool:
        """Queue a frame without waiting; a full queue means a slow dashboard, which is dropped."""
        if self.dropped:
            return False
        try:
            self.frames.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            self.drop(CLOSE_TOO_SLOW, "too slow")
            return False

    def drop(self, code: int, reason: str) -> None:
        """Close this dashboard (once); the edge decides how."""
        if not self.dropped:
            self.dropped = True
            self._close(code, reason)


class DashboardHub:
    """The feed's state on one worker: viewers, shown screenings, dirty marks, one subscription."""

    def __init__(
        self, *, pool: asyncpg.Pool, queries: Any, redis: Redis, holds: HoldStore, keyspace: KeySpace,
        tick_ms: int, currency: str, clock: Clock, days_sql: SimpleNamespace, default_zone: str,
        line: Line | None = None,
    ) -> None:
        self._line = line  # waiting rooms' figures (their changes publish no seat event: refreshed every LINE_SECONDS)
        self._pool, self._sql, self._redis, self._holds = pool, queries, redis, holds
        self._clock, self._days_sql, self._default_zone = clock, days_sql, default_zone
        self._tick = tick_ms / 1000
        self.currency = currency
        self._pattern = _glob_escape(keyspace.prefix) + "{s:*}:events"
        self._head = (keyspace.prefix + "{s:").encode()
        self._tail = b"}:events"
        self.viewers: set[Viewer] = set()
        self._rows: dict[int, dict[str, Any]] = {}  # latest row of every shown screening
        self._showing: dict[int, int] = {}  # screening -> how many viewers show it
        self._dirty: dict[int, bool] = {}  # screening -> takings need re-reading
        self._wake = asyncio.Event()
        self._gate = asyncio.Semaphore(REDIS_CONCURRENCY)
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()  # the current subscription is confirmed
        self._stopping: set[asyncio.Task[None]] = set()

    # --- figures -------------------------------------------------------------------------

    async def resolve(self, flt: DayRange) -> DayRange:
        """The filter with the server's "today" (the cinema's local day) where it names no date."""
        return await days.resolve(flt, db=self._pool, sql=self._days_sql, clock=self._clock,
                                  default_zone=self._default_zone, default_days=1, max_days=MAX_DAYS)

    async def occupancy(self, flt: DayRange) -> dict[str, Any]:
        """Every screening the filter shows with live figures, and the totals (the REST answer)."""
        rows = await self._with_figures(await self._list(flt))
        return {"screenings": rows, "totals": totals(rows, self.currency)}

    async def _list(self, flt: DayRange) -> list[dict[str, Any]]:
        first, last = flt.days
        async with self._pool.acquire() as conn:
            records = await conn.fetch(self._sql.screenings_between, first, last, flt.cinema_id, MAX_SCREENINGS)
        return [{**dict(r), "currency": self.currency} for r in records]

    async def _with_figures(self, meta: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async def fill(row: dict[str, Any]) -> dict[str, Any] | None:
            try:
                figures = await self._figures(row["screening_id"], warm=True)
            except NotFound:  # deleted since the list was read
                return None
            return {**row, **figures}

        filled = await asyncio.gather(*(fill(row) for row in meta))
        return [row for row in filled if row is not None]

    async def _figures(self, screening_id: int, warm: bool = False) -> dict[str, Any]:
        async with self._gate:
            if warm:  # a screening nobody has opened yet is loaded from PostgreSQL first
                await self._holds.warm(screening_id)
            # counts also re-warms a screening whose keys Redis lost, so never an empty map.
            counts = await self._holds.counts(screening_id)
            room = await self._line.dashboard(screening_id, counts["free"]) if self._line is not None else None
        return {**{name: counts[name] for name in FIGURES}, "waiting_room": room}

    async def _takings(self, screening_ids: list[int]) -> dict[int, dict[str, int]]:
        async with self._pool.acquire() as conn:
            records = await conn.fetch(self._sql.takings_of, screening_ids)
        found = {r["screening_id"]: {"takings": r["takings"], "tickets": r["tickets"], "waiting": r["waiting"]}
                 for r in records}
        return {sid: found[sid] for sid in screening_ids if sid in found}

    # --- viewers -------------------------------------------------------------------------

    async def join(self, viewer: Viewer) -> None:
        """Add a dashboard; the first one starts the subscription and the tick."""
        self.viewers.add(viewer)
        if not self._tasks:
            self._start()
        # Every joiner waits for the confirmed subscription, so no event of its list is missed.
        try:
            await asyncio.wait_for(self._ready.wait(), SUBSCRIBE_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("dashboard subscription not confirmed in %ss; continuing", SUBSCRIBE_TIMEOUT)

    async def show(self, viewer: Viewer, flt: DayRange) -> dict[str, Any]:
        """Point a viewer at a filter; returns its full list (rows and totals)."""
        meta = await self._list(flt)
        if viewer not in self.viewers:
            return {"screenings": [], "totals": totals([], self.currency)}
        # Registered before the figures are read, so an event racing the read marks it dirty.
        self._reshow(viewer, frozenset(row["screening_id"] for row in meta))
        viewer.filter = flt
        rows = await self._with_figures(meta)
        for row in rows:
            self._remember(row)
        return {"screenings": rows, "totals": totals(rows, self.currency)}

    def leave(self, viewer: Viewer) -> None:
        """Remove a dashboard; the last one stops the subscription and the tick."""
        if viewer not in self.viewers:
            return
        self.viewers.discard(viewer)
        self._reshow(viewer, frozenset())
        if not self.viewers:
            self._stop()

    def _reshow(self, viewer: Viewer, sids: frozenset[int]) -> None:
        for sid in sids - viewer.shown:
            self._showing[sid] = self._showing.get(sid, 0) + 1
            if self._showing[sid] == 1:
                self._holds.watch(sid)  # expiries are swept even with no room open here
        for sid in viewer.shown - sids:
            self._showing[sid] -= 1
            if self._showing[sid] == 0:
                del self._showing[sid]
                self._rows.pop(sid, None)
                self._dirty.pop(sid, None)
                self._holds.unwatch(sid)
        viewer.shown = sids

    def _remember(self, row: dict[str, Any]) -> None:
        sid = row["screening_id"]
        if sid not in self._showing:
            return
        known = self._rows.get(sid)
        # A tick and a full list may race; never let the older figures win.
        if known is None or known["version"] <= row["version"]:
            self._rows[sid] = row

    # --- events and the tick -------------------------------------------------------------

    def note(self, channel: bytes, data: bytes) -> None:
        """An event arrived on a screening's channel: mark it dirty if a dashboard shows it."""
        if not (channel.startswith(self._head) and channel.endswith(self._tail)):
            return
        try:
            sid = int(channel[len(self._head):-len(self._tail)])
        except ValueError:
            return
        if sid not in self._showing:
            return
        try:
            event = orjson.loads(data)
            kind, offer = event.get("type"), bool(event.get("offer"))
        except (orjson.JSONDecodeError, AttributeError):
            kind, offer = None, True  # unreadable: refresh everything, money included
        money = kind in TAKINGS_EVENTS or offer
        self._dirty[sid] = self._dirty.get(sid, False) or money
        self._wake.set()

    def mark_all_dirty(self) -> None:
        """After a lost subscription, events may have been missed: refresh every shown screening."""
        for sid in self._showing:
            self._dirty[sid] = True
        if self._dirty:
            self._wake.set()

    async def tick(self) -> None:
        """One coalescing round: recompute dirty screenings, send each filter's rows once."""
        dirty, self._dirty = self._dirty, {}
        sids = [sid for sid in dirty if sid in self._showing]
        if not sids:
            return
        results = await asyncio.gather(*(self._figures(sid) for sid in sids), return_exceptions=True)
        money = [sid for sid in sids if dirty[sid]]
        takings = await self._takings(money) if money else {}
        changed: list[dict[str, Any]] = []
        for sid, figures in zip(sids, results):
            row = self._rows.get(sid)
            if isinstance(figures, BaseException):
                if not isinstance(figures, NotFound):
                    log.warning("dashboard: figures of screening %s failed: %r", sid, figures)
                    self._dirty[sid] = self._dirty.get(sid, False) or dirty[sid]  # retry next tick
                    self._wake.set()
                continue
            if row is None or sid not in self._showing or figures["version"] < row["version"]:
                continue  # not listed yet, gone, or a racing full list already has newer figures
            row = {**row, **figures}
            row.update(takings.get(sid, {}))
            self._rows[sid] = row
            changed.append(row)
        self._broadcast(changed)

    def _broadcast(self, changed: list[dict[str, Any]]) -> None:
        if not changed:
            return
        frames: dict[frozenset[int], bytes | None] = {}
        # Viewers with one filter show the same screenings, so each distinct set is encoded once.
        for viewer in list(self.viewers):
            if viewer.shown not in frames:
                rows = [row for row in changed if row["screening_id"] in viewer.shown]
                frames[viewer.shown] = orjson.dumps({"type": "update", "screenings": rows}) if rows else None
            frame = frames[viewer.shown]
            if frame is not None and not viewer.offer(frame):
                self.leave(viewer)

    async def _run_ticks(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), LINE_SECONDS)
            except asyncio.TimeoutError:  # quiet seats: still refresh the screenings with a line moving
                lines = [sid for sid, row in self._rows.items() if row.get("waiting_room") and sid in self._showing]
                if not lines:
                    continue
                for sid in lines:
                    self._dirty.setdefault(sid, False)
            # Gather the tick's events first: everything within one tick becomes one update per
            # screening, and sleeping before each round caps updates at one per tick.
            await asyncio.sleep(self._tick)
            self._wake.clear()
            try:
                await self.tick()
            except (RedisError, OSError, asyncpg.PostgresError) as exc:
                log.warning("dashboard tick failed: %r", exc)

    async def _listen(self, ready: asyncio.Event) -> None:
        first = True
        while True:
            pubsub = open_pubsub(self._redis)
            try:
                await pubsub.psubscribe(self._pattern)
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self.note(message["channel"], message["data"])
                    elif message["type"] == "psubscribe":
                        ready.set()
                        if not first:
                            self.mark_all_dirty()
                        first = False
            except (RedisError, OSError) as exc:
                log.warning("dashboard subscription lost, resubscribing: %r", exc)
                first = False
                await asyncio.sleep(1)
            finally:
                await pubsub.aclose()

    def _start(self) -> None:
        self._ready = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(self._ready)), asyncio.create_task(self._run_ticks())]

    def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        self._tasks = []

    async def close(self) -> None:
        """Shutdown: drop every dashboard as going away and stop the background tasks."""
        for viewer in list(self.viewers):
            viewer.drop(CLOSE_GOING_AWAY, "server shutting down")
            self.leave(viewer)
        self._stop()
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)


def _glob_escape(text: str) -> str:
    """Escape Redis glob specials so a prefix matches only itself."""
    return "".join("\\" + ch if ch in "\\*?[]" else ch for ch in text)
