"""One simulated moviegoer over aiohttp: join a screening's room, hold seats, retry, check out.

The clients of one load process all watch the same screening, so they share one SeatView (the
seat states they have seen, last writer wins by version) instead of 5,000 copies of the map.
Every client still reads every frame of its own socket; only `sampled` clients parse event
frames (broadcast lag, houseful, the shared view), so the load generator spends its core on
sockets rather than on JSON it does not need.
"""
from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from typing import Any

import aiohttp
import orjson

from loadtest.metrics import Metrics

CARD_OK = "4242424242424242"  # the sandbox's always-succeeding test card
# Room error codes that are an expected outcome of a rush (a conflict), not a failure.
CONFLICTS = frozenset({
    "seat_taken", "orphan_seat", "houseful", "no_adjacent_seats", "limit_exceeded", "not_held",
    "seat_blocked", "screening_closed",
})
FREE_AGAIN = frozenset({"released", "expired", "freed"})
COMMAND_TIMEOUT = 30.0
PREFIX_EVENTS = '{"type":"events"'


class RoomClosed(Exception):
    """The socket closed before the reply came."""


class SeatMap:
    """The auditorium's layout from GET /api/screenings/{id}/seats: blocks of adjacent seats, best first."""

    def __init__(self, data: dict[str, Any]) -> None:
        seats = [s for s in data["seats"] if not s.get("blocked")]
        self.standard = {s["id"] for s in seats if s.get("kind", "standard") in ("standard", "vip")}
        xs = [s["x"] for s in seats] or [0.0]
        ys = [s["y"] for s in seats] or [0.0]
        auditorium = data.get("auditorium") or {}
        bx = auditorium.get("best_x")
        by = auditorium.get("best_y")
        # Same default as the server's best spot: the middle, two thirds of the way back.
        self.best = (bx if bx is not None else (min(xs) + max(xs)) / 2,
                     by if by is not None else min(ys) + (max(ys) - min(ys)) * 2 / 3)
        self.segments: list[list[int]] = []  # runs of adjacent seats (same row, x one apart)
        by_row: dict[str, list[dict[str, Any]]] = {}
        for s in data["seats"]:
            by_row.setdefault(s["row"], []).append(s)
        self.position = {s["id"]: (s["x"], s["y"]) for s in data["seats"]}
        for row in by_row.values():
            row.sort(key=lambda s: s["x"])
            run: list[int] = []
            for prev, seat in zip([None, *row], row):
                if prev is not None and (seat["x"] - prev["x"] > 1.01 or prev.get("blocked")):
                    run = self._close(run)
                if not seat.get("blocked") and seat["id"] in self.standard:
                    run.append(seat["id"])
                else:
                    run = self._close(run)
            self._close(run)
        self._blocks: dict[int, list[tuple[int, ...]]] = {}

    def _close(self, run: list[int]) -> list[int]:
        if run:
            self.segments.append(run)
        return []

    def blocks(self, k: int) -> list[tuple[int, ...]]:
        """Every run of k adjacent seats, nearest the best spot first (computed once per k)."""
        found = self._blocks.get(k)
        if found is None:
            scored = []
            for seg in self.segments:
                for i in range(len(seg) - k + 1):
                    block = tuple(seg[i:i + k])
                    cx = sum(self.position[s][0] for s in block) / k
                    cy = self.position[block[0]][1]
                    # Rows count more than columns: people move sideways before they move back.
                    scored.append((math.hypot(cx - self.best[0], 1.6 * (cy - self.best[1])), block))
            scored.sort()
            found = self._blocks[k] = [b for _, b in scored]
        return found

    def neighbours(self) -> dict[int, tuple[int | None, int | None]]:
        """Left and right neighbour of every seat inside its segment."""
        out: dict[int, tuple[int | None, int | None]] = {}
        for seg in self.segments:
            for i, s in enumerate(seg):
                out[s] = (seg[i - 1] if i else None, seg[i + 1] if i + 1 < len(seg) else None)
        return out


class SeatView:
    """What this process's clients have seen of the room: taken seats, last writer wins by version."""

    def __init__(self, seat_map: SeatMap) -> None:
        self.map = seat_map
        self.taken: set[int] = set()
        self.seat_version: dict[int, int] = {}
        self.version = 0
        self.houseful = False
        self._near = seat_map.neighbours()

    def apply_snapshot(self, snap: dict[str, Any]) -> None:
        """A whole map at one version (skipped when this view already saw a later change)."""
        v = int(snap.get("version", 0))
        if v <= self.version:
            return
        taken = set(snap.get("held", ())) | set(snap.get("sold", ())) | set(snap.get("blocked", ()))
        for seat in self.map.standard:
            if self.seat_version.get(seat, -1) < v:
                self.seat_version[seat] = v
                (self.taken.add if seat in taken else self.taken.discard)(seat)
        self.version = v
        self.houseful = bool(snap.get("houseful"))

    def apply_event(self, event: dict[str, Any]) -> None:
        """One delta; a seat ignores anything older than what it already shows."""
        v = int(event["v"])
        free = event["type"] in FREE_AGAIN
        for seat in event.get("seats", ()):
            if self.seat_version.get(seat, -1) < v:
                self.seat_version[seat] = v
                (self.taken.discard if free else self.taken.add)(seat)
        self.version = max(self.version, v)

    def mark_taken(self, seats: list[int]) -> None:
        """Seats a seat_taken/orphan reply named: taken as far as this client knows."""
        self.taken.update(seats)

    def _no_orphan(self, block: tuple[int, ...]) -> bool:
        """Would taking block leave a lone free seat beside it? (what the server's orphan rule refuses)"""
        inside = set(block)
        for edge, side in ((block[0], 0), (block[-1], 1)):
            n = self._near.get(edge, (None, None))[side]
            if n is None or n in self.taken or n in inside:
                continue
            beyond = self._near.get(n, (None, None))[side]
            if beyond is None or beyond in self.taken:
                return False
        return True

    def choose(self, k: int, rng: random.Random, skip: set[int]) -> list[int] | None:
        """k adjacent free seats near the best spot: one of the first few free blocks, front-weighted."""
        candidates: list[tuple[int, ...]] = []
        for block in self.map.blocks(k):
            if any(s in self.taken or s in skip for s in block):
                continue
            if self._no_orphan(block):
                candidates.append(block)
                if len(candidates) >= 6:
                    break
        if not candidates:
            return None
        i = 0
        while i + 1 < len(candidates) and rng.random() < 0.55:
            i += 1
        return list(candidates[i])


class Moviegoer:
    """One client: a logged-in (or anonymous) socket on one screening's room."""

    def __init__(self, session: aiohttp.ClientSession, target: str, screening_id: int, metrics: Metrics,
                 view: SeatView | None, *, token: str | None = None, sampled: bool = True) -> None:
        self.session = session
        self.target = target.rstrip("/")
        self.screening_id = screening_id
        self.metrics = metrics
        self.view = view
        self.token = token
        self.sampled = sampled
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.mine: list[int] = []
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._snapshot: asyncio.Future[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._counted = False  # included in metrics.connected

    @property
    def headers(self) -> dict[str, str]:
        """Authorization for HTTP and the socket upgrade."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    # --- the socket -------------------------------------------------------------------------

    async def connect(self, timeout: float = 30.0) -> bool:
        """Open the room and wait for the first snapshot; records connect time, or an error."""
        ws_url = self.target.replace("http", "ws", 1) + f"/ws/screenings/{self.screening_id}"
        started = time.perf_counter()
        self._snapshot = asyncio.get_running_loop().create_future()
        try:
            self.ws = await self.session.ws_connect(ws_url, headers=self.headers, heartbeat=None,
                                                    timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                                                    max_msg_size=0, compress=0)
            self._reader = asyncio.create_task(self._read())
            await asyncio.wait_for(asyncio.shield(self._snapshot), timeout)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, RoomClosed) as exc:
            self.metrics.error("connect_" + type(exc).__name__)
            await self.close()
            return False
        self.metrics.record("connect", (time.perf_counter() - started) * 1e6)
        self.metrics.connected += 1
        self._counted = True
        peak = self.metrics.counts["connected_peak"]
        if self.metrics.connected > peak:
            self.metrics.counts["connected_peak"] = self.metrics.connected
        return True

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.metrics.connected -= 1

    async def _read(self) -> None:
        assert self.ws is not None
        metrics = self.metrics
        try:
            async for msg in self.ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                metrics.counts["frames_in"] += 1
                data: str = msg.data
                if data.startswith(PREFIX_EVENTS) and not self.sampled:
                    continue  # this client does not measure; skip the parse
                self._on_frame(orjson.loads(data))
        except (aiohttp.ClientError, OSError, asyncio.CancelledError):
            pass
        finally:
            self._uncount()
            if self.ws is not None and self.ws.close_code not in (None, 1000):
                metrics.error(f"closed_{self.ws.close_code}")
            closed = RoomClosed(f"socket closed ({self.ws.close_code if self.ws else None})")
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(closed)
            if self._snapshot is not None and not self._snapshot.done():
                self._snapshot.set_exception(closed)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "result":
            fut = self._waiting.pop(frame.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(frame)
        elif kind == "events":
            now_ms = time.time() * 1000
            for event in frame["events"]:
                self.metrics.record("broadcast_lag", (now_ms - event["ts"]) * 1000)
                if self.view is not None:
                    self.view.apply_event(event)
            if frame.get("houseful"):
                self.metrics.saw_houseful()
                if self.view is not None:
                    self.view.houseful = True
        elif kind == "snapshot":
            if self.view is not None:
                self.view.apply_snapshot(frame)
            if frame.get("houseful") and self.sampled:
                self.metrics.saw_houseful()
            if self._snapshot is not None and not self._snapshot.done():
                self._snapshot.set_result(None)

    async def command(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its result frame; records the ack latency of seat commands."""
        if self.ws is None or self.ws.closed:
            raise RoomClosed("not connected")
        self._next_id += 1
        msg_id = self._next_id
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = fut
        started = time.perf_counter()
        await self.ws.send_str(orjson.dumps({"id": msg_id, "type": type_, **fields}).decode())
        self.metrics.counts["commands_out"] += 1
        try:
            reply = await asyncio.wait_for(fut, COMMAND_TIMEOUT)
        finally:
            self._waiting.pop(msg_id, None)
        if type_ in ("hold", "hold_best", "release"):
            self.metrics.record("hold_ack", (time.perf_counter() - started) * 1e6)
        return reply

    async def close(self) -> None:
        """Close the socket (normal closure) and stop reading."""
        self._uncount()
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._reader.cancel()

    # --- behaviour --------------------------------------------------------------------------

    def _outcome(self, reply: dict[str, Any]) -> str | None:
        """None on success; else the error code, counted as a conflict or an error."""
        if reply.get("success"):
            return None
        error = reply.get("error") or {}
        code = str(error.get("code", "unknown"))
        if code in CONFLICTS:
            self.metrics.conflict(code)
            if self.view is not None and error.get("seats"):
                self.view.mark_taken([int(s) for s in error["seats"]])
        else:
            self.metrics.error(code)
        return code

    async def hold_seats(self, k: int, rng: random.Random, attempts: int = 4) -> bool:
        """Hold k adjacent seats near the best spot; on conflict pick others, then ask hold_best.

        When no k adjacent seats are left, the customer settles for fewer (k-1 ... 1), as a group
        would rather sit apart than not at all; that is also how a rush reaches houseful.
        """
        tried: set[int] = set()
        for attempt in range(attempts + k):
            seats = self.view.choose(k, rng, tried) if self.view is not None and attempt < attempts - 1 else None
            if seats is not None:
                tried.update(seats)
                reply = await self.command("hold", seats=seats)
            else:
                reply = await self.command("hold_best", count=k)
            code = self._outcome(reply)
            if code is None:
                self.mine = list(dict.fromkeys([*self.mine, *reply["result"]["seats"]]))  # a seat held again counts once
                self.metrics.count("holds")
                self.metrics.count("seats_held", len(reply["result"]["seats"]))
                return True
            if code == "no_adjacent_seats" and seats is None:
                if k == 1:
                    return False
                k -= 1
            elif code in ("houseful", "limit_exceeded", "screening_closed") or code not in CONFLICTS:
                if code == "houseful":
                    self.metrics.saw_houseful()
                if code == "rate_limited":
                    await asyncio.sleep(0.2)
                    continue
                return False
        return False

    async def release_all(self) -> None:
        """Give back every seat this client holds."""
        if self.mine:
            self._outcome(await self.command("release"))
            self.mine = []

    async def checkout(self, card: str = CARD_OK, timeout: float = 60.0) -> str | None:
        """Order the held seats, pay in the sandbox and wait for the order to settle; its order key."""
        if not self.mine:
            return None
        started = time.perf_counter()
        try:
            order = await self._http("POST", "/api/orders", json={"screening_id": self.screening_id,
                                                                 "seat_ids": sorted(self.mine)},
                                     headers={"Idempotency-Key": uuid.uuid4().hex})
            if order is None:
                return None
            async with self.session.post(self.target + order["payment_url"], data={"card": card},
                                         allow_redirects=False) as resp:
                if resp.status not in (200, 303):
                    self.metrics.error(f"pay_http_{resp.status}")
                    return None
            status = await self._settled(order["order_key"], timeout)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            self.metrics.error("checkout_" + type(exc).__name__)
            return None
        if status == "paid":
            self.metrics.record("checkout", (time.perf_counter() - started) * 1e6)
            self.metrics.count("orders_paid")
            self.metrics.count("sold", len(self.mine))
            self.mine = []
        else:
            self.metrics.error(f"order_{status}")
        return order["order_key"]

    async def _settled(self, order_key: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        delay = 0.3  # then every 0.7 s, as the web app's order page polls
        while True:
            order = await self._http("GET", f"/api/orders/{order_key}")
            status = order["status"] if order else "unreadable"
            if status not in ("pending", "authorised") or time.monotonic() > deadline:
                return status
            await asyncio.sleep(delay)
            delay = 0.7

    async def _http(self, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        """A JSON API call with this client's token; an error status is counted by its code."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with self.session.request(method, self.target + path, headers=headers, **kwargs) as resp:
            body = await resp.read()
            self.metrics.count("http_requests")
            if resp.status >= 400:
                try:
                    code = orjson.loads(body)["error"]["code"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    code = f"http_{resp.status}"
                (self.metrics.conflict if code in CONFLICTS else self.metrics.error)(code)
                return None
            return orjson.loads(body) if body else {}
