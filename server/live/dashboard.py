"""The staff feed: per-screening occupancy, kept live from every screening's events.

One hub per worker. It listens, on the worker's event bus (server/bus.py), to the channels of
exactly the screenings its dashboards show (sharded pub/sub has no patterns), and to the catalog
channel while any dashboard is open: a screening created, rescheduled or cancelled re-lists
every dashboard, and so does the turn of the day for a dashboard that shows "today". An event
for a shown screening marks it dirty, and a tick (websocket.dashboard_tick_ms) recomputes the dirty screenings' figures and
sends each dashboard the changed rows its filter shows, encoded once per distinct filter.
Knows nothing of aiohttp: a dashboard is a `Viewer` with a bounded queue of encoded frames.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import asyncpg
import orjson
from redis.exceptions import RedisError

from server.bus import EventBus
from server.clock import Clock
from server.domain import days
from server.domain.days import DayRange
from server.errors import NotFound
from server.keyspace import KeySpace
from server.live.holds import HoldStore
from server.live.line import Line
from server.live.protocol import CLOSE_GOING_AWAY, CLOSE_TOO_SLOW
from server.zones import zone

log = logging.getLogger(__name__)

MAX_DAYS = 31  # widest date range one filter may ask for
MAX_SCREENINGS = 500  # most rows one list carries (keeps a full list cheap to compute)
# Redis calls the hub makes at once, across lists and ticks: the client's pool is bounded and
# raises rather than waits when exhausted, and the rooms need most of it.
REDIS_CONCURRENCY = 16
SUBSCRIBE_TIMEOUT = 5.0  # seconds a list waits for Redis to confirm its screenings' subscriptions
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

    def __init__(self, flt: DayRange, max_frames: int, close: Callable[[int, str], None],
                 follows_today: bool = False) -> None:
        self.filter = flt
        # Asked for no date: shows "today", so it moves on at the cinema's midnight (`until`, unix s).
        self.follows_today = follows_today
        self.until = float("inf")
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
        self, *, pool: asyncpg.Pool, queries: Any, bus: EventBus, holds: HoldStore, keyspace: KeySpace,
        tick_ms: int, currency: str, clock: Clock, days_sql: SimpleNamespace, default_zone: str,
        line: Line | None = None,
    ) -> None:
        self._line = line  # waiting rooms' figures (their changes publish no seat event: refreshed every LINE_SECONDS)
        self._pool, self._sql, self._bus, self._holds = pool, queries, bus, holds
        self._clock, self._days_sql, self._default_zone = clock, days_sql, default_zone
        self._tick = tick_ms / 1000
        self.currency = currency
        self._keys = keyspace
        self._catalog = catalog_channel(keyspace)
        self._screening_of: dict[bytes, int] = {}  # channel -> screening, for the shown screenings
        self.viewers: set[Viewer] = set()
        self._rows: dict[int, dict[str, Any]] = {}  # latest row of every shown screening
        self._showing: dict[int, int] = {}  # screening -> how many viewers show it
        self._dirty: dict[int, bool] = {}  # screening -> takings need re-reading
        self._wake = asyncio.Event()
        self._gate = asyncio.Semaphore(REDIS_CONCURRENCY)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping: set[asyncio.Task[None]] = set()
        self._relisting: set[asyncio.Task[None]] = set()

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
        """Add a dashboard; the first one starts the tick and the catalog subscription."""
        self.viewers.add(viewer)
        if not self._tasks:
            self._start()
        try:  # idempotent while subscribed; after a failure, the next dashboard tries again
            await self._confirmed([self._bus.add(self._catalog, self)])
        except (ConnectionError, asyncio.TimeoutError) as exc:
            log.warning("dashboard: catalog channel not subscribed (new screenings show on the next list): %r", exc)

    async def show(self, viewer: Viewer, flt: DayRange) -> dict[str, Any]:
        """Point a viewer at a filter; returns its full list (rows and totals)."""
        meta = await self._list(flt)
        if viewer.follows_today:
            viewer.until = await self._midnight_after(flt)
        if viewer not in self.viewers:
            return {"screenings": [], "totals": totals([], self.currency)}
        # Subscribed (and confirmed) before the figures are read, so an event racing the read
        # marks the screening dirty.
        await self._confirmed(self._reshow(viewer, frozenset(row["screening_id"] for row in meta)))
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

    def _reshow(self, viewer: Viewer, sids: frozenset[int]) -> list[asyncio.Future[None]]:
        """Count the screenings a viewer now shows: the first viewer of one subscribes its channel."""
        subscribing = []
        for sid in sids - viewer.shown:
            self._showing[sid] = self._showing.get(sid, 0) + 1
            if self._showing[sid] == 1:
                channel = self._keys.channel(sid).encode()
                self._screening_of[channel] = sid
                subscribing.append(self._bus.add(channel, self))
                self._holds.watch(sid)  # expiries are swept even with no room open here
        for sid in viewer.shown - sids:
            self._showing[sid] -= 1
            if self._showing[sid] == 0:
                del self._showing[sid]
                self._rows.pop(sid, None)
                self._dirty.pop(sid, None)
                self._holds.unwatch(sid)
                channel = self._keys.channel(sid).encode()
                self._screening_of.pop(channel, None)
                self._bus.remove(channel, self)
        viewer.shown = sids
        return subscribing

    async def _confirmed(self, subscribing: list[asyncio.Future[None]]) -> None:
        if not subscribing:
            return
        done = await asyncio.wait_for(asyncio.gather(*(asyncio.shield(f) for f in subscribing),
                                                     return_exceptions=True), SUBSCRIBE_TIMEOUT)
        failed = [r for r in done if isinstance(r, BaseException)]
        if failed:
            raise ConnectionError(f"dashboard: {len(failed)} subscriptions failed: {failed[0]!r}")

    async def _midnight_after(self, flt: DayRange) -> float:
        """When "today" ends for this filter: the next midnight in its cinema's zone (unix seconds)."""
        name = await days.zone_of(self._pool, self._days_sql, flt.cinema_id, self._default_zone)
        tz = zone(name)
        tomorrow = self._clock.now().astimezone(tz).date() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=tz).timestamp()

    def _remember(self, row: dict[str, Any]) -> None:
        sid = row["screening_id"]
        if sid not in self._showing:
            return
        known = self._rows.get(sid)
        # A tick and a full list may race; never let the older figures win.
        if known is None or known["version"] <= row["version"]:
            self._rows[sid] = row

    # --- events and the tick -------------------------------------------------------------

    def on_event(self, channel: bytes, data: bytes) -> None:
        """An event arrived on a shown screening's channel (mark it dirty) or the catalog's (re-list)."""
        if channel == self._catalog:
            self._relist(list(self.viewers))
            return
        sid = self._screening_of.get(channel)
        if sid is None or sid not in self._showing:
            return
        try:
            event = orjson.loads(data)
            kind, offer = event.get("type"), bool(event.get("offer"))
        except (orjson.JSONDecodeError, AttributeError):
            kind, offer = None, True  # unreadable: refresh everything, money included
        money = kind in TAKINGS_EVENTS or offer
        self._dirty[sid] = self._dirty.get(sid, False) or money
        self._wake.set()

    def on_gap(self, channel: bytes) -> None:
        """The bus lost the channel for a while: refresh its screening (money too), or re-list all."""
        if channel == self._catalog:
            self._relist(list(self.viewers))
            return
        sid = self._screening_of.get(channel)
        if sid is not None and sid in self._showing:
            self._dirty[sid] = True
            self._wake.set()

    def _relist(self, viewers: list[Viewer]) -> None:
        """Send these viewers a fresh full list in the background (the set of screenings changed)."""
        for viewer in viewers:
            task = asyncio.ensure_future(self._send_list(viewer))
            self._relisting.add(task)
            task.add_done_callback(self._relisting.discard)

    async def _send_list(self, viewer: Viewer) -> None:
        """A full list when the viewer's screenings or day changed (a new, moved or cancelled one)."""
        before, flt = viewer.shown, viewer.filter
        try:
            if viewer.follows_today:  # "today" again: the next day once the cinema's midnight passed
                flt = await self.resolve(DayRange(flt.cinema_id, None, None))
            if flt == viewer.filter and not self._listing_changed(before, await self._list(flt)):
                return  # the same screenings, as listed: their figures change by updates as usual
            listing = await self.show(viewer, flt)
        except (RedisError, OSError, asyncpg.PostgresError) as exc:
            log.warning("dashboard: cannot re-list: %r", exc)
            return
        if viewer in self.viewers:
            viewer.offer(orjson.dumps({"type": "occupancy", "filter": flt.describe(), **listing}))

    def _listing_changed(self, shown: frozenset[int], meta: list[dict[str, Any]]) -> bool:
        """True when a list names other screenings than `shown`, or lists one differently (moved)."""
        if frozenset(row["screening_id"] for row in meta) != shown:
            return True
        return any(self._rows.get(row["screening_id"], {}).get(name) != value
                   for row in meta for name, value in row.items())

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
            self._turn_days()
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

    def _turn_days(self) -> None:
        """Viewers of "today" whose cinema's midnight has passed (the app's clock) move to the new day."""
        now = self._clock.time()
        turned = [viewer for viewer in self.viewers if viewer.follows_today and viewer.until <= now]
        for viewer in turned:
            viewer.until = float("inf")  # until the new list sets the next midnight
        self._relist(turned)

    def _start(self) -> None:
        self._tasks = [asyncio.create_task(self._run_ticks())]

    def _stop(self) -> None:
        self._bus.remove(self._catalog, self)
        for task in [*self._tasks, *self._relisting]:
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


def catalog_channel(keyspace: KeySpace) -> bytes:
    """The channel that says "the screenings changed" (created, rescheduled, cancelled)."""
    return keyspace.key("catalog").encode()
