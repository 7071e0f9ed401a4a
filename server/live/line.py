"""The waiting room's line of each screening, kept in Redis by lua/line.lua (docs/waiting-room.md).

Every key lives in the screening's hash tag (the slot of its holds). The policy is copied from
PostgreSQL into the `line:conf` hash, so the script and the hold path's gate read it from Redis;
a Redis that lost it gets it again from PostgreSQL on the next read. Places in line are Redis
state only: a worker restart loses none of them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis

from server.clock import Clock
from server.config import WaitingRoomSettings
from server.domain import audit
from server.errors import InvalidInput, NotFound, error_class
from server.keyspace import KeySpace
from server.live.admission import MODES, Policy, sign_pass
from server.live.batch import ScriptBatcher
from server.live.scripts import LUA

# line:active is also KEYS[13] of the hold scripts (holds.LINE_ACTIVE): a sale ends the buyer's shopping.
LINE_KEYS = ("line:conf", "line:next", "line:who", "line:early", "line:state", "line:active", "line:lease")
NoWaitingRoom = error_class("NoWaitingRoom", 409, "no_waiting_room")
LINE_ERRORS = {
    "no_waiting_room": (NoWaitingRoom, "This screening has no waiting room: go straight to the seat map."),
    "not_in_line": (error_class("NotInLine", 409, "not_in_line"), "Join the line first."),
    "still_waiting": (error_class("StillWaiting", 409, "still_waiting"), "Your number has not been called yet."),
    "admission_spent": (error_class("AdmissionSpent", 409, "admission_spent"),
                        "Your admission window is over; join the line again."),
}
KEEP_AFTER_START = dt.timedelta(days=1)
SEATS_PER_SHOPPER = 2  # the estimate of time to houseful assumes each admitted customer takes this many seats


class Line:
    """Places, admissions and the policy of every screening's waiting room."""

    def __init__(self, redis: Redis, pool: asyncpg.Pool, sql: SimpleNamespace, settings: WaitingRoomSettings,
                 space: KeySpace, clock: Clock, pass_key: bytes) -> None:
        self.redis, self.pool, self.sql, self.settings = redis, pool, sql, settings
        self.space, self.clock, self.pass_key = space, clock, pass_key
        self.source = (LUA / "line.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
        # Arrivals share pipelines: the joins asked while one is on its way go together when it
        # comes back, one round trip for a burst instead of a pool checkout, a write and a read
        # each (bench/RESULTS.md, issue 12).
        self.batcher = ScriptBatcher(redis, label="line", in_flight=1)
        self.worker = secrets.token_hex(8)  # this process's name in the admitter lease

    def keys_of(self, screening_id: int) -> list[str]:
        """The line's keys in script order."""
        return [self.space.screening(screening_id, name) for name in LINE_KEYS]

    # --- the policy ------------------------------------------------------------------------

    def derived(self, row: asyncpg.Record) -> dict[str, Any]:
        """The policy as the script reads it; rate and max_active derived from capacity when unset."""
        capacity = int(row["capacity"])
        rate = row["admit_per_second"] or max(1, capacity // self.settings.capacity_per_rate)
        most = row["max_active"] or max(1, capacity * self.settings.active_percent // 100)
        opens = row["sales_open_at"]
        return {"mode": row["mode"], "opens_at": int(opens.timestamp() * 1000) if opens else 0, "rate": rate,
                "max_active": most, "paused": int(row["paused"]), "movie_id": row["movie_id"],
                "capacity": capacity}

    async def load_policy(self, screening_id: int) -> dict[str, Any]:
        """Copy the policy from PostgreSQL into Redis (NotFound for no such screening)."""
        row = await self.pool.fetchrow(self.sql.policy_get, screening_id)
        if row is None:
            raise NotFound("No such screening.")
        conf = self.derived(row)
        keep = max(int((row["starts_at"] + KEEP_AFTER_START - self.clock.now()).total_seconds() * 1000), 60_000)
        key = self.keys_of(screening_id)[0]
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping=conf)
        pipe.pexpire(key, keep)
        await pipe.execute()
        return conf

    async def conf(self, screening_id: int) -> dict[str, Any]:
        """The policy from Redis, loaded from PostgreSQL when Redis lacks it."""
        raw = await self.redis.hgetall(self.keys_of(screening_id)[0])
        if not raw:
            return await self.load_policy(screening_id)
        out: dict[str, Any] = {k.decode(): v.decode() for k, v in raw.items()}
        for name in ("opens_at", "rate", "max_active", "paused", "movie_id", "capacity"):
            out[name] = int(out.get(name, 0))
        return out

    async def policy(self, screening_id: int) -> Policy:
        """What the gate needs (Gate's loader)."""
        conf = await self.conf(screening_id)
        return Policy(mode=conf["mode"], opens_at=conf["opens_at"])

    async def set_policy(self, screening_id: int, changes: dict[str, Any], actor_id: int, ip: str | None) -> dict:
        """Change the on-sale time and the policy (any of them), audited; Redis gets the new policy at once."""
        if "mode" in changes and changes["mode"] not in MODES:
            raise InvalidInput(f"mode is one of {', '.join(MODES)}.", field="mode")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.sql.policy_get, screening_id)
            if row is None:
                raise NotFound("No such screening.")
            now = {k: row[k] for k in ("sales_open_at", "mode", "admit_per_second", "max_active", "paused")}
            new = {**now, **changes}
            if "sales_open_at" in changes:
                await conn.execute(self.sql.sales_open_set, screening_id, new["sales_open_at"])
            await conn.execute(self.sql.policy_set, screening_id, new["mode"], new["admit_per_second"],
                               new["max_active"], new["paused"], self.clock.now())
            details = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in changes.items()}
            await audit.record(conn, actor_id, "screening.waiting_room", {"screening_id": screening_id, **details}, ip)
        await self.load_policy(screening_id)
        return await self.status(screening_id)

    # --- the line ---------------------------------------------------------------------------

    async def _run(self, screening_id: int, op: str, *args: object) -> dict[str, Any]:
        """One script call (a cold line loads its policy from PostgreSQL and is tried once more)."""
        keys = self.keys_of(screening_id)
        for attempt in range(2):
            reply = orjson.loads(await self.batcher.run(self.sha, self.source, keys, [self.clock.ms(), op, *args]))
            if "cold" not in reply:
                break
            await self.load_policy(screening_id)
        if "err" in reply:
            cls, message = LINE_ERRORS[reply["err"]]
            raise cls(message)
        return reply

    async def join(self, screening_id: int, user_id: int) -> dict[str, Any]:
        """A place in line: {number (None until the opening for early arrivals), line}; the same again later.

        One script call (the script refuses a screening whose waiting room is off)."""
        reply = (await self._run(screening_id, "join", user_id, self._window(), secrets.randbits(31)))["ok"]
        return {"number": reply["number"] or None, "line": reply["line"]}

    async def admission(self, screening_id: int, user_id: int) -> dict[str, Any]:
        """The pass of an admitted number: {pass, expires}; StillWaiting / NotInLine / AdmissionSpent."""
        reply = (await self._run(screening_id, "pass", user_id, self._window()))["ok"]
        token = sign_pass(self.pass_key, screening_id, user_id, int(reply["expires"]))
        return {"pass": token, "expires": int(reply["expires"]), "number": reply["number"]}

    async def admit(self, screening_id: int, busy: bool = False) -> dict[str, Any]:
        """The admitter's tick: admits the due numbers if this worker holds the lease; the line's figures
        (rate: the one it admits at now, a tenth of the policy's while a server is busy)."""
        reply = await self._run(screening_id, "admit", self.worker, self.settings.lease_ms, secrets.randbits(31),
                                int(busy))
        return reply["ok"]

    async def shopping(self, screening_id: int, user_id: int) -> bool:
        """True while the user's claimed admission window lasts (a purchase does not end it)."""
        until = await self.redis.hget(self.keys_of(screening_id)[4], f"u:{user_id}")
        return until is not None and int(until) > self.clock.ms()

    async def clear(self, screening_id: int) -> None:
        """Houseful: empty the line."""
        await self._run(screening_id, "clear")

    async def status(self, screening_id: int) -> dict[str, Any]:
        """The policy and the line's figures (admin and staff views)."""
        conf = await self.conf(screening_id)
        figures = (await self._run(screening_id, "state"))["ok"]
        waiting = max(figures["last"] - figures["admitted"], 0) + figures["early"]
        return {"screening_id": screening_id, **conf, "admitted": figures["admitted"], "waiting": waiting,
                "shopping": figures["active"], "opened": figures["opened"]}

    async def dashboard(self, screening_id: int, free: int) -> dict[str, Any] | None:
        """The staff dashboard's figures of a screening's waiting room (None when it has none)."""
        status = await self.status(screening_id)
        if status["mode"] == "off":
            return None
        moving = status["waiting"] and not status["paused"]
        eta = -(-free // (status["rate"] * SEATS_PER_SHOPPER)) if moving else None
        return {"mode": status["mode"], "waiting": status["waiting"], "admitted": status["admitted"],
                "shopping": status["shopping"], "rate": status["rate"], "paused": bool(status["paused"]),
                "eta_houseful_seconds": eta}

    async def others(self, movie_id: int, screening_id: int) -> list[dict[str, Any]]:
        """Other screenings of the film, for the "sold out" frame."""
        rows = await self.pool.fetch(self.sql.other_screenings, screening_id, movie_id, self.clock.now())
        return [{"id": r["id"], "starts_at": r["starts_at"].isoformat(), "cinema": r["cinema"]} for r in rows]

    def _window(self) -> int:
        return self.settings.admission_seconds * 1000
