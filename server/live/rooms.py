"""RoomHub: this worker's rooms, one Redis subscription per screening, frame-once fan-out.

The worker's event bus (server/bus.py: one sharded pub/sub connection for every feature) carries
every room's channel: the first socket of a room subscribes it, the last one out unsubscribes.
Events collect per room and a tick task flushes them as ONE WebSocket frame per room, built
once (header + JSON) and written as the same bytes to every socket's transport, synchronously.
A big room flushes less often: its interval grows to sockets / websocket.frames_per_second, so a
worker never tries to write more frames a second than it can; in a rush (many events pending
in a big room) it waits websocket.busy_flush_ms between flushes. The room tracks the last version
it relayed: an event that skips a version (a lost message, a reconnect) makes the room re-read
the version and send every socket a fresh snapshot instead of the batch.

Snapshots share their room-wide part (seats, counts, prices), encoded once per room version;
only `mine`, `deadline` and `me` are per socket, so a watcher's snapshot costs no Redis call.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import orjson
from redis.exceptions import RedisError

from server.bus import EventBus
from server.config import Settings
from server.keyspace import KeySpace
from server.live import protocol as p
from server.errors import DomainError
from server.live.holds import HoldStore
from server.live.taken import TakenSeats
from server.metrics import FANOUT_LAG_SECONDS, ROOMS_OPEN
from server.slots import Slots

log = logging.getLogger(__name__)
SCRIPTS_PER_CONNECTION = 16  # socket commands in flight per pooled Redis connection (they are batched)


class Member(Protocol):
    """What the hub needs of a socket in a room (the edge's RoomConnection, server/ws/room.py)."""

    screening_id: int
    owner: str | None  # the hold owner, None for an anonymous watcher

    @property
    def behind(self) -> bool:
        """Too far behind: waiting for a catch-up snapshot."""

    def me(self) -> str | None:
        """The owner's opaque tag in this screening's events."""

    def push(self, frame: bytes) -> None:
        """Write a room broadcast (complete frame bytes) without waiting."""

    def resync(self) -> None:
        """Send this socket a fresh snapshot next."""


class Room:
    """One screening's sockets on this worker and the relay position of its event stream."""

    def __init__(self, screening_id: int, channel: bytes) -> None:
        self.screening_id = screening_id
        self.channel = channel
        self.sockets: set[Member] = set()
        self.version: int | None = None  # None while (re)reading it: events wait in `pending`
        self.houseful = False
        self.pending: list[dict[str, Any]] = []
        self.joining = 0  # sockets waiting for the room to open
        self.ready: asyncio.Future[None] | None = None
        self.flushed_at = 0.0  # loop time of the last flush (big rooms wait longer between flushes)
        # The room-wide part of a snapshot, encoded once: valid while no event newer than
        # head_version has been relayed (head_version >= version). `epoch` counts resyncs, so a
        # snapshot read before one is never cached after it.
        self.head: bytes | None = None
        self.head_version = -1
        self.epoch = 0
        self.reading: asyncio.Event | None = None  # set when the snapshot being read arrives
        self.taken = TakenSeats()  # seats known taken, from the events as they arrive (taken.py)

    def shared_head(self) -> bytes | None:
        """The cached room-wide snapshot part if it is still current, else None."""
        if self.head is not None and self.version is not None and self.head_version >= self.version:
            return self.head
        return None


class RoomHub:
    """Per-worker rooms: join/leave sockets, relay each screening's events to its sockets."""

    def __init__(self, bus: EventBus, holds: HoldStore, settings: Settings) -> None:
        self.holds = holds
        self.keys = KeySpace(settings.redis.key_prefix)
        self.tick = settings.websocket.tick_ms / 1000
        self.frames_per_second = settings.websocket.frames_per_second
        self.busy_interval = settings.websocket.busy_flush_ms / 1000
        self.busy_events = settings.websocket.busy_events
        self.busy_sockets = settings.websocket.busy_room_sockets
        self._limits = {
            "commands_per_second": settings.websocket.commands_per_second,
            "command_burst": settings.websocket.command_burst,
            "max_message_bytes": settings.websocket.max_message_bytes,
            "max_seats": settings.holds.max_seats_per_customer,
            "hold_seconds": settings.holds.ttl_seconds,
            "hold_max_seconds": settings.holds.max_total_seconds,
        }
        # Commands and snapshots of all sockets share the Redis pool; bounding them here keeps a
        # rush of thousands of sockets from exhausting it. Their scripts travel in per-tick
        # pipelines (server/live/batch.py), so a connection carries many of them at once.
        self.redis_slot = Slots(max(1, settings.redis.max_connections * 3 // 4) * SCRIPTS_PER_CONNECTION)
        self.bus = bus
        self._rooms: dict[int, Room] = {}
        self._by_channel: dict[bytes, Room] = {}
        self._dirty: set[Room] = set()
        self._has_pending = asyncio.Event()
        self._sub_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Start the tick task (the bus delivers the events)."""
        self._spawn(self._tick())

    async def close(self) -> None:
        """Stop the tasks and leave every room's channel."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for room in list(self._rooms.values()):
            self.bus.remove(room.channel, self)
        ROOMS_OPEN.dec(len(self._rooms))

    def room_sizes(self) -> dict[int, int]:
        """Sockets per open room on this worker (for diagnostics and tests)."""
        return {sid: len(room.sockets) for sid, room in self._rooms.items()}

    def lagging(self, screening_id: int) -> int:
        """Sockets of a room that fell behind and wait for a catch-up snapshot."""
        room = self._rooms.get(screening_id)
        return sum(1 for conn in room.sockets if conn.behind) if room else 0

    def is_open(self, screening_id: int) -> bool:
        """True when this worker has the screening's room open (so its seats are warm in Redis)."""
        room = self._rooms.get(screening_id)
        ready = room.ready if room is not None else None
        return ready is not None and ready.done() and not ready.cancelled() and ready.exception() is None

    def flush_interval(self, screening_id: int) -> float:
        """Seconds between a room's flushes: one tick, or longer so it stays in the frame budget."""
        room = self._rooms.get(screening_id)
        return self._interval(room) if room is not None else self.tick

    def cached_snapshot_version(self, screening_id: int) -> int | None:
        """The version of a room's shared snapshot part while it is current (diagnostics, tests)."""
        room = self._rooms.get(screening_id)
        return room.head_version if room is not None and room.shared_head() is not None else None

    def _interval(self, room: Room) -> float:
        # A worker writes at most frames_per_second frames: a room of N sockets flushes at most
        # every N / budget seconds (never more often than every tick). Latency grows with the
        # room instead of the whole worker falling behind. In a rush (a big room with many events
        # pending) each flush is still one write per socket: wait busy_flush_ms between them.
        sockets = len(room.sockets)
        interval = max(self.tick, sockets / self.frames_per_second)
        if sockets >= self.busy_sockets and len(room.pending) >= self.busy_events:
            return max(interval, self.busy_interval)
        return interval

    def refusal(self, screening_id: int, seats: list[int], me: str | None) -> DomainError | None:
        """The error a hold of these seats would certainly get from Redis, known here; else None."""
        room = self._rooms.get(screening_id)
        return room.taken.refusal(seats, me, self.holds.clock.ms()) if room is not None else None

    # --- snapshots ------------------------------------------------------------------------

    def hello(self, screening_id: int, me: str | None, auth_pending: bool) -> bytes:
        """The hello payload for a new socket."""
        return p.hello_frame(screening_id, me, auth_pending, self._limits, self.holds.clock.ms())

    def shared_snapshot(self, conn: Member) -> bytes | None:
        """A watcher's (no holds) snapshot payload from the room's cache, if current; no Redis."""
        room = self._rooms.get(conn.screening_id)
        head = room.shared_head() if room is not None else None
        return p.snapshot_payload(head, [], None, None, self.holds.clock.ms()) if head is not None else None

    async def snapshot_payload(self, conn: Member) -> bytes:
        """A socket's snapshot payload: the room-wide part read once per version, plus its own.

        The socket is already in the room (its deltas held back), so any snapshot at least as new
        as the room's relayed version is complete for it.
        """
        sid, owner = conn.screening_id, conn.owner
        room = self._rooms.get(sid)
        head = room.shared_head() if room is not None else None
        if head is None and room is not None and room.reading is not None:
            await room.reading.wait()  # one Redis read serves every socket joining meanwhile
            head = room.shared_head()
        if head is None:
            return await self._read_snapshot(room, sid, owner)
        if owner is None:
            return p.snapshot_payload(head, [], None, None, self.holds.clock.ms())
        async with self.redis_slot:
            own = await self.holds.my_holds(sid, owner)
        return p.snapshot_payload(head, own["seats"], own["deadline"], conn.me(), self.holds.clock.ms())

    async def _read_snapshot(self, room: Room | None, sid: int, owner: str | None) -> bytes:
        """Read the whole snapshot (with the owner's holds) and keep its room-wide part."""
        reading = None
        if room is not None and room.reading is None:
            reading = room.reading = asyncio.Event()
        epoch = room.epoch if room is not None else -1
        try:
            async with self.redis_slot:
                snap = await self.holds.snapshot(sid, owner)
        finally:
            if reading is not None:
                assert room is not None
                room.reading = None
                reading.set()
        head = p.snapshot_head(snap)
        if room is not None and room.epoch == epoch and snap["version"] >= room.head_version:
            room.head, room.head_version = head, snap["version"]
        return p.snapshot_payload(head, snap["mine"], snap["deadline"], snap["me"], self.holds.clock.ms())

    # --- sockets --------------------------------------------------------------------------

    async def join(self, conn: Member) -> None:
        """Add a socket to its screening's room, opening (subscribing) the room if needed."""
        sid = conn.screening_id
        room = self._rooms.get(sid)
        if room is None:
            room = Room(sid, self.keys.channel(sid).encode())
            self._rooms[sid] = room
            self._by_channel[room.channel] = room
            ROOMS_OPEN.inc()
            room.ready = asyncio.ensure_future(self._open(room))
        assert room.ready is not None
        room.joining += 1
        try:
            await asyncio.shield(room.ready)
        except BaseException:
            room.joining -= 1
            self._close_if_empty(room)
            raise
        room.joining -= 1
        room.sockets.add(conn)

    def leave(self, conn: Member) -> None:
        """Remove a socket; the last one out closes the room (unsubscribes)."""
        room = self._rooms.get(conn.screening_id)
        if room is None or conn not in room.sockets:
            return
        room.sockets.discard(conn)
        self._close_if_empty(room)

    def _close_if_empty(self, room: Room) -> None:
        if room.sockets or room.joining or self._rooms.get(room.screening_id) is not room:
            return
        self._rooms.pop(room.screening_id, None)
        ROOMS_OPEN.dec()
        if self._by_channel.get(room.channel) is room:
            del self._by_channel[room.channel]
        self._dirty.discard(room)
        self._spawn(self._close_room(room))

    async def _open(self, room: Room) -> None:
        async with self._sub_lock:
            # The bus returns once Redis confirmed, so the version read below sees every later event.
            await self.bus.subscribe(room.channel, self)
            self.holds.watch(room.screening_id)  # the sweeper now expires this screening's holds
        await self._sync(room)

    async def _close_room(self, room: Room) -> None:
        async with self._sub_lock:
            if room.channel in self._by_channel:
                return  # reopened meanwhile: the new room owns the subscription
            self.holds.unwatch(room.screening_id)
            self.bus.remove(room.channel, self)

    async def _sync(self, room: Room, resync_sockets: bool = False) -> None:
        """Re-read the room's version; with resync_sockets every socket gets a new snapshot."""
        room.version = None
        room.epoch += 1  # snapshots read before now may belong to another history (Redis reloaded)
        room.head = None
        while True:
            try:
                async with self.redis_slot:
                    counts = await self.holds.counts(room.screening_id)
                break
            except (RedisError, OSError):
                if not resync_sockets or self._rooms.get(room.screening_id) is not room:
                    raise
                log.warning("room %s: cannot read its version; retrying", room.screening_id)
                await asyncio.sleep(0.5)
        room.version = int(counts["version"])
        room.houseful = bool(counts["houseful"])
        room.taken.closes_at = int(counts.get("closes_at") or 0)
        if resync_sockets:
            for conn in list(room.sockets):
                conn.resync()
        if room.pending:
            self._mark(room)

    # --- events ---------------------------------------------------------------------------

    def on_gap(self, channel: bytes) -> None:
        """The bus lost and regained the channel: events may be missing, so resync the room."""
        room = self._by_channel.get(channel)
        if room is not None and room.version is not None:
            room.version = None
            room.taken.forget()
            self._spawn(self._sync(room, resync_sockets=True))

    def on_event(self, channel: bytes, data: bytes) -> None:
        """One event of a room's screening: queue it for the room's next flush."""
        room = self._by_channel.get(channel)
        if room is None:
            return
        try:
            event = orjson.loads(data)
            if type(event.get("v")) is not int:
                raise ValueError("no version")
        except (orjson.JSONDecodeError, ValueError, AttributeError):
            log.warning("room %s: ignored a malformed event %r", room.screening_id, data[:200])
            return
        room.taken.apply(event)
        if event.get("type") == "reloaded":  # the sale rules may have changed: read them again
            self._spawn(self._learn_close(room))
        room.pending.append(event)
        self._mark(room)

    async def _learn_close(self, room: Room) -> None:
        """Read when holding ends again (after a reload), so holds can be refused here again."""
        async with self.redis_slot:
            counts = await self.holds.counts(room.screening_id)
        if room.taken.closes_at is None:
            room.taken.closes_at = int(counts.get("closes_at") or 0)

    def _mark(self, room: Room) -> None:
        self._dirty.add(room)
        self._has_pending.set()

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._has_pending.wait()
            await asyncio.sleep(self.tick)  # coalesce everything that arrives within one tick
            self._has_pending.clear()
            dirty, self._dirty = self._dirty, set()
            now = loop.time()
            for room in dirty:
                if self._rooms.get(room.screening_id) is not room:
                    continue
                interval = self._interval(room)
                # Half a tick of slack: the loop wakes once a tick, and a room due a hair later
                # than this wake-up must not wait a whole extra tick.
                if interval > self.tick and now - room.flushed_at + self.tick / 2 < interval:
                    self._mark(room)  # a big room: keep collecting until its interval is up
                    continue
                room.flushed_at = now
                try:
                    self._flush(room)
                except Exception:
                    log.exception("room %s: flush failed", room.screening_id)

    def _flush(self, room: Room) -> None:
        """Relay a room's pending events as one frame, or resync the room on a version gap."""
        if room.version is None:
            return  # being (re)synced: _sync marks the room again when done
        events, room.pending = sorted(room.pending, key=lambda e: e["v"]), []
        fresh: list[dict[str, Any]] = []
        for event in events:
            if event["v"] <= room.version:
                continue  # already in the snapshots the sockets were sent
            if event["v"] != room.version + 1:
                log.info("room %s: version gap %s -> %s; resyncing", room.screening_id, room.version, event["v"])
                room.version = None
                self._spawn(self._sync(room, resync_sockets=True))
                return
            room.version = event["v"]
            room.houseful = bool(event.get("houseful", room.houseful))
            fresh.append(event)
        if not fresh:
            return
        # Built once: header + JSON, the same bytes for every socket (see p.text_frame).
        frame = p.text_frame(p.events_frame(fresh, room.houseful))
        for conn in tuple(room.sockets):  # a push may close (and remove) a socket
            conn.push(frame)
        now_ms = self.holds.clock.ms()  # the oldest event waited longest: the frame's lag (docs/operations.md)
        FANOUT_LAG_SECONDS.observe(max(0, now_ms - fresh[0].get("ts", now_ms)) / 1000)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("room task failed", exc_info=task.exception())
