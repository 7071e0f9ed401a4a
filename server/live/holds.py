"""HoldStore: seat holds of every screening, kept in Redis by atomic Lua scripts.

Every command is one EVALSHA on the screening's keys (one hash tag, one Cluster slot). A
screening whose keys are missing answers "cold"; the store then warms it from PostgreSQL
and runs the command again. See docs/holds.md for the key layout and the seat rules.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import Counter
from types import SimpleNamespace
from typing import Any, Sequence

import asyncpg
import orjson
from redis.asyncio import Redis

from server.clock import Clock
from server.config import Settings
from server.errors import InvalidInput, NotFound, Unavailable
from server.keyspace import KeySpace
from server.live.errors import ERRORS, LimitExceeded
from server.live.layout import KIND_CODES, load_layout, load_sold
from server.live.scripts import Scripts

# The order of KEYS every script receives (see lua/common.lua): these, the channel, the waiting
# list's keys (WAITLIST_KEYS, lua/waitlist.lua), then the waiting room's shoppers (LINE_ACTIVE).
KEY_NAMES = ("meta", "layout", "segs", "holds", "owners", "deadlines", "sold", "sales", "version")
WAITLIST_KEYS = ("waitq", "offers")
LINE_ACTIVE = "line:active"  # server/live/line.py's LINE_KEYS[5]: mark_sold ends the buyer's shopping
MAX_ID = 2**53  # ids travel through Lua numbers (doubles)
SALE_BATCH = 1_000  # most seats one mark_sold / free_sold / unlock may name
WARM_LOCK_MS = 5_000
WARM_WAIT_SECONDS = 10.0
OWNER_TAGS = 50_000  # (screening, owner) pairs whose tag is remembered
_OWNER = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def owner_of(user_id: int) -> str:
    """The hold owner of a user: "u<user_id>" (built here only; the checkout and the rooms use it)."""
    return f"u{user_id}"


def _ids(value: Any) -> list[int]:
    # cjson encodes an empty Lua table as {}; an empty list is what is meant.
    return [int(v) for v in value] if isinstance(value, list) else []


def _screening_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise NotFound("No such screening.")
    return value


def _owner(value: Any) -> str:
    if not isinstance(value, str) or not _OWNER.match(value):
        raise InvalidInput("The seat holder is not valid.", field="owner")
    return value


def _seat_ids(value: Any, most: int, too_many: type[Exception] = InvalidInput) -> list[str]:
    """Checked, de-duplicated seat ids as strings (the form the scripts use)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidInput("Choose at least one seat.", field="seats")
    out: dict[str, None] = {}
    for seat in value:
        if isinstance(seat, bool) or not isinstance(seat, int) or not 1 <= seat <= MAX_ID:
            raise InvalidInput("Seat ids are positive whole numbers.", field="seats")
        out[str(seat)] = None
    if len(out) > most:
        raise too_many(f"At most {most} seats at a time.", field="seats")  # type: ignore[call-arg]
    return list(out)


class HoldStore:
    """Holds, sales and versions of every screening's seats (the live-seat contract)."""

    def __init__(self, redis: Redis, pool: asyncpg.Pool, settings: Settings, secret: str,
                 queries: SimpleNamespace, *, clock: Clock) -> None:
        """`queries` are the named queries of sql/queries/live.sql (app[keys.QUERIES].live)."""
        self.redis = redis
        self.clock = clock
        self.pool = pool
        self.settings = settings
        self.space = KeySpace(settings.redis.key_prefix)
        self.queries = queries
        self.scripts = Scripts(clock)
        self._secret = secret.encode()
        self._keys: dict[int, list[str]] = {}
        self._tags: dict[tuple[int, str], str] = {}
        self._watched: Counter[int] = Counter()
        self._touched: dict[int, float] = {}

    # --- identities and keys -------------------------------------------------------------

    def owner_tag(self, screening_id: int, owner: str) -> str:
        """An opaque per-screening tag of an owner: lets a client recognise its own holds."""
        tag = self._tags.get((screening_id, owner))
        if tag is None:  # an HMAC per hold command showed in a rush's profile: computed once per pair
            tag = hmac.new(self._secret, f"{screening_id}:{owner}".encode(), hashlib.sha256).hexdigest()[:10]
            if len(self._tags) >= OWNER_TAGS:  # a bounded cache; a tag is cheap to compute again
                self._tags.clear()
            self._tags[(screening_id, owner)] = tag
        return tag

    def keys_of(self, screening_id: int) -> list[str]:
        """The screening's keys in script order, then its channel."""
        keys = self._keys.get(screening_id)
        if keys is None:
            keys = [self.space.screening(screening_id, n) for n in KEY_NAMES]
            keys.append(self.space.channel(screening_id))
            keys.extend(self.space.screening(screening_id, n) for n in WAITLIST_KEYS)
            keys.append(self.space.screening(screening_id, LINE_ACTIVE))
            if len(self._keys) > 10_000:  # a bounded cache; names are cheap to rebuild
                self._keys.clear()
            self._keys[screening_id] = keys
        return keys

    async def load_scripts(self) -> None:
        """SCRIPT LOAD every script (called once at start)."""
        await self.scripts.load(self.redis)

    # --- the sweeper's view ----------------------------------------------------------------

    def watch(self, screening_id: int) -> None:
        """Someone on this worker watches the screening: sweep it every interval."""
        self._watched[screening_id] += 1

    def unwatch(self, screening_id: int) -> None:
        """One watcher fewer."""
        self._watched[screening_id] -= 1
        if self._watched[screening_id] <= 0:
            del self._watched[screening_id]

    def sweep_targets(self) -> list[int]:
        """Watched screenings and those this worker touched within the longest hold life."""
        horizon = time.monotonic() - self.settings.holds.max_total_seconds
        for sid in [s for s, at in self._touched.items() if at < horizon]:
            del self._touched[sid]
        return sorted(set(self._watched) | set(self._touched))

    # --- running scripts -------------------------------------------------------------------

    async def _run(self, name: str, screening_id: int, args: Sequence[object]) -> Any:
        """One EVALSHA; warm the screening and retry once if its keys are missing."""
        keys = self.keys_of(screening_id)
        for attempt in range(2):
            reply = orjson.loads(await self.scripts.call(self.redis, name, keys, args))
            if "cold" not in reply:
                break
            if attempt:
                raise Unavailable("The seat map is being loaded; try again.")
            await self.warm(screening_id)
        # Only real screenings join the sweep list, so bogus ids cannot grow it.
        self._touched[screening_id] = time.monotonic()
        if "err" in reply:
            cls, message = ERRORS[reply["err"]]
            seats = _ids(reply.get("seats"))
            raise cls(message, **({"seats": seats} if seats else {}))
        return reply["ok"]

    def _hold_args(self, screening_id: int, owner: str) -> list[object]:
        h = self.settings.holds
        return [owner, self.owner_tag(screening_id, owner), h.ttl_seconds * 1000,
                h.max_total_seconds * 1000, h.max_seats_per_customer, h.accessible_release_minutes * 60_000]

    # --- warm-up -----------------------------------------------------------------------

    async def warm(self, screening_id: int) -> None:
        """Load the layout and sold seats into Redis if missing; once, even when many ask at once."""
        sid = _screening_id(screening_id)
        keys = self.keys_of(sid)
        wanted = (keys[0], keys[1], keys[6])  # meta, layout, sold: what the scripts check
        if await self.redis.exists(*wanted) == len(wanted):
            return
        lock, token = self.space.screening(sid, "warm_lock"), secrets.token_hex(8)
        give_up = time.monotonic() + WARM_WAIT_SECONDS
        while not await self.redis.set(lock, token, nx=True, px=WARM_LOCK_MS):
            await asyncio.sleep(0.02)  # another worker is loading it: wait for its result
            if await self.redis.exists(*wanted) == len(wanted):
                return
            if time.monotonic() > give_up:
                raise Unavailable("The seat map is being loaded; try again.")
        try:
            if await self.redis.exists(*wanted) < len(wanted):
                await self._write_layout(sid, keys)
        finally:
            await self.redis.eval(_UNLOCK, 1, lock, token)

    async def refresh(self, screening_id: int) -> None:
        """After a catalog write: reload a warm screening and tell its rooms to resync.

        A cold screening needs nothing: its next warm-up reads the new data anyway.
        """
        sid = _screening_id(screening_id)
        if not await self.redis.exists(self.keys_of(sid)[0]):
            return
        await self._write_layout(sid, self.keys_of(sid))
        await self._run("reloaded", sid, [])

    async def refresh_auditorium(self, auditorium_id: int) -> None:
        """refresh() every upcoming screening of an auditorium (its seat map was replaced)."""
        rows = await self.pool.fetch(self.queries.upcoming_in_auditorium, auditorium_id, self.clock.now())
        for row in rows:
            await self.refresh(row["id"])

    async def _write_layout(self, sid: int, keys: list[str]) -> None:
        async with self.pool.acquire() as conn:
            layout = await load_layout(conn, self.queries, sid)
            if layout is None:
                raise NotFound("No such screening.")
            sold = await load_sold(conn, self.queries, sid)
        meta, seat_map, segs, sold_key, version = keys[0], keys[1], keys[2], keys[6], keys[8]
        # expire_at is business time; Redis expires keys by its own clock, so give it a duration.
        keep_ms = max(int(layout.meta["expire_at"]) - self.clock.ms(), 1000)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(seat_map, segs)
        # "-" keeps the hash present when an auditorium has no seats at all.
        pipe.hset(seat_map, mapping={"-": "", **{str(k): v for k, v in layout.records.items()}})
        if layout.segments:
            pipe.hset(segs, mapping={str(i): ",".join(map(str, s)) for i, s in enumerate(layout.segments, 1)})
        pipe.hset(meta, mapping={**layout.meta, "segments": str(len(layout.segments))})
        pipe.set(version, 0, nx=True)
        for key in (meta, seat_map, segs, version):
            pipe.pexpire(key, keep_ms)
        await pipe.execute()
        await self.scripts.call(self.redis, "load_sold", keys, ["create", *sold])

    async def rebuild_sold(self, screening_id: int) -> None:
        """Reload the sold set from PostgreSQL, announcing any difference."""
        sid = _screening_id(screening_id)
        await self.warm(sid)
        sold = await load_sold(self.pool, self.queries, sid)
        await self._run("load_sold", sid, ["replace", *sold])

    # --- reading -----------------------------------------------------------------------

    async def snapshot(self, screening_id: int, owner: str | None) -> dict:
        """Every seat's state, my holds, prices, counts and the version they belong to."""
        sid = _screening_id(screening_id)
        who = _owner(owner) if owner is not None else ""
        view = await self._run("view", sid, ["snapshot", who])
        counts = view["counts"]
        return {
            "screening_id": sid, "version": view["version"], "held": _ids(view["held"]),
            "sold": _ids(view["sold"]), "blocked": _ids(view["blocked"]), "mine": _ids(view["mine"]),
            "deadline": view.get("deadline"), "houseful": view["houseful"],
            "prices": orjson.loads(view["prices"]), "me": self.owner_tag(sid, who) if who else None,
            "counts": {k: counts[k] for k in ("capacity", "sold", "held", "free")},
            "closed": view["closed"],
        }

    async def counts(self, screening_id: int) -> dict:
        """{capacity, sold, held, free, houseful, version, closes_at}; capacity excludes blocked seats.

        closes_at: when holding ends (unix ms, the start; 0 when the screening is not scheduled).
        """
        return await self._run("view", _screening_id(screening_id), ["counts", ""])

    async def my_holds(self, screening_id: int, owner: str) -> dict:
        """The owner's held seats and their deadline."""
        view = await self._run("view", _screening_id(screening_id), ["mine", _owner(owner)])
        return {"seats": _ids(view["seats"]), "deadline": view.get("deadline")}

    # --- holding -----------------------------------------------------------------------

    async def hold(self, screening_id: int, owner: str, seat_ids: Sequence[int], *,
                   wheelchair: bool = False) -> dict:
        """Hold exactly these seats for the owner, or none of them."""
        sid, who = _screening_id(screening_id), _owner(owner)
        seats = _seat_ids(seat_ids, self.settings.holds.max_seats_per_customer, LimitExceeded)
        args = [*self._hold_args(sid, who), 1 if wheelchair else 0, *seats]
        return self._held(await self._run("hold", sid, args))

    async def hold_best(self, screening_id: int, owner: str, count: int, kind: str = "standard") -> dict:
        """Hold the `count` adjacent seats of a kind nearest the auditorium's best spot."""
        sid, who = _screening_id(screening_id), _owner(owner)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidInput("Ask for at least one seat.", field="count")
        if count > self.settings.holds.max_seats_per_customer:
            raise LimitExceeded(f"At most {self.settings.holds.max_seats_per_customer} seats.", field="count")
        if kind not in KIND_CODES:
            raise InvalidInput(f"Seat kinds are {', '.join(KIND_CODES)}.", field="kind")
        args = [*self._hold_args(sid, who), count, KIND_CODES[kind]]
        return self._held(await self._run("hold_best", sid, args))

    @staticmethod
    def _held(reply: dict) -> dict:
        return {"seats": _ids(reply["seats"]), "deadline": reply.get("deadline"), "version": reply["version"]}

    async def release(self, screening_id: int, owner: str, seat_ids: Sequence[int] | None) -> dict:
        """Give seats back (None = every seat the owner holds that is not being sold)."""
        sid, who = _screening_id(screening_id), _owner(owner)
        if seat_ids is None:
            args = [who, self.owner_tag(sid, who), "all"]
        else:
            seats = _seat_ids(seat_ids, self.settings.holds.max_seats_per_customer, LimitExceeded)
            args = [who, self.owner_tag(sid, who), "some", *seats]
        reply = await self._run("release", sid, args)
        return {"seats": _ids(reply["seats"]), "version": reply["version"]}

    async def extend(self, screening_id: int, owner: str) -> dict:
        """Push the owner's deadline out by the hold TTL, within the cap on total hold time."""
        sid, who = _screening_id(screening_id), _owner(owner)
        h = self.settings.holds
        reply = await self._run("extend", sid, [who, h.ttl_seconds * 1000, h.max_total_seconds * 1000])
        return {"seats": _ids(reply["seats"]), "deadline": reply["deadline"], "version": reply["version"]}

    async def sweep(self, screening_id: int) -> list[int]:
        """Expire overdue holds now, announcing each; returns the seats set free."""
        sid = _screening_id(screening_id)
        reply = await self.scripts.call(self.redis, "sweep", self.keys_of(sid), [])
        return _ids(orjson.loads(reply)["ok"])

    # --- checkout (invariant 5): hold -> locked for a sale -> sold ------------------------

    async def lock_for_sale(self, screening_id: int, owner: str, seat_ids: Sequence[int], sale: str) -> None:
        """Lock seats (mine or free, and locked for no other sale) for `sale`, exempt from expiry.

        SeatTaken(seats=lost) otherwise, also for seats another sale of the same owner holds.
        """
        sid, who, sale = _screening_id(screening_id), _owner(owner), _owner(sale)
        seats = _seat_ids(seat_ids, self.settings.holds.max_seats_per_customer, LimitExceeded)
        await self._run("lock_for_sale", sid, [*self._hold_args(sid, who)[:5], sale, *seats])

    async def mark_sold(self, screening_id: int, owner: str, seat_ids: Sequence[int]) -> int:
        """Tickets are committed: the seats are sold (publishes "sold"); returns the version."""
        sid, who = _screening_id(screening_id), _owner(owner)
        seats = _seat_ids(seat_ids, SALE_BATCH)
        return (await self._run("mark_sold", sid, [who, self.owner_tag(sid, who), *seats]))["version"]

    async def unlock(self, screening_id: int, owner: str, seat_ids: Sequence[int], sale: str) -> None:
        """The sale failed: release the owner's seats held for it (never those another sale locked)."""
        sid, who, sale = _screening_id(screening_id), _owner(owner), _owner(sale)
        seats = _seat_ids(seat_ids, SALE_BATCH)
        await self._run("unlock", sid, [who, self.owner_tag(sid, who), sale, *seats])

    async def free_sold(self, screening_id: int, seat_ids: Sequence[int]) -> int:
        """Tickets were cancelled or refunded: the seats are free again (publishes "freed")."""
        sid = _screening_id(screening_id)
        return (await self._run("free_sold", sid, _seat_ids(seat_ids, SALE_BATCH)))["version"]

    # --- the waiting list's line (server/live/waitlist.py keeps the list itself in PostgreSQL) ---

    async def waitlist_join(self, screening_id: int, entry_id: int, record: str) -> bool:
        """Put an entry in the line in id order; False when the line is not loaded (load it instead)."""
        reply = await self._run("waitlist_join", _screening_id(screening_id), [entry_id, record])
        return not reply.get("missing")

    async def waitlist_load(self, screening_id: int, records: Sequence[str]) -> bool:
        """Build a missing line from PostgreSQL's entries (in order); False when it was there."""
        return bool((await self._run("waitlist_load", _screening_id(screening_id), list(records)))["loaded"])

    async def waitlist_leave(self, screening_id: int, entry_id: int) -> bool:
        """Take an entry out of the line; False when it was not in it (gone, or handed seats)."""
        return bool((await self._run("waitlist_leave", _screening_id(screening_id), [entry_id]))["removed"])

    async def waitlist_offers(self, screening_id: int) -> tuple[list[str], bool]:
        """Offers the handover made and the app has not recorded yet, and whether the line is loaded."""
        reply = await self._run("waitlist_offers", _screening_id(screening_id), ["read"])
        return (reply["offers"] if isinstance(reply["offers"], list) else []), bool(reply["loaded"])

    async def waitlist_offer_done(self, screening_id: int, offer: str) -> None:
        """Forget an offer once PostgreSQL has it."""
        await self._run("waitlist_offers", _screening_id(screening_id), ["done", offer])
