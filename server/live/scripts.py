"""The live-seat Lua scripts: loaded once with SCRIPT LOAD, called by SHA with EVALSHA.

Each script is the shared prelude (`lua/common.lua`, then the waiting list's handover in
`lua/waitlist.lua`) followed by `lua/<name>.lua`. The SHA is
computed locally, so a call never waits for a load; a Redis that lost its script cache
(restart, failover, SCRIPT FLUSH) answers NOSCRIPT and the script is loaded again.
Every call passes the app's clock (unix ms) as the first ARGV; lua/common.lua takes it off.
"""
from __future__ import annotations

import asyncio
import hashlib
import weakref
from pathlib import Path
from typing import Sequence

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from server.clock import Clock
from server.live.batch import ScriptBatcher

LUA = Path(__file__).resolve().parent / "lua"
NAMES = (
    "hold", "hold_best", "release", "extend", "sweep", "lock_for_sale", "mark_sold",
    "unlock", "free_sold", "load_sold", "view", "reloaded",
    "waitlist_join", "waitlist_load", "waitlist_leave", "waitlist_offers",
)
PRELUDE = ("common", "waitlist")


class Scripts:
    """The sources and SHAs of every script; `call` runs one by SHA at the clock's time."""

    def __init__(self, clock: Clock, folder: Path = LUA) -> None:
        self.clock = clock
        prelude = "\n".join((folder / f"{part}.lua").read_text() for part in PRELUDE)
        self.sources: dict[str, str] = {
            name: prelude + "\n" + (folder / f"{name}.lua").read_text() for name in NAMES
        }
        self.shas: dict[str, str] = {
            name: hashlib.sha1(src.encode()).hexdigest() for name, src in self.sources.items()
        }
        self._batchers: weakref.WeakKeyDictionary[Redis, ScriptBatcher] = weakref.WeakKeyDictionary()
        self._loading: asyncio.Task[None] | None = None

    async def load(self, redis: Redis) -> None:
        """SCRIPT LOAD every script (at start; also after Redis forgot them)."""
        for name, src in self.sources.items():
            sha = await redis.script_load(src)
            if sha != self.shas[name]:
                raise RuntimeError(f"Redis computed another SHA for script {name}")

    async def call(self, redis: Redis, name: str, keys: Sequence[str], args: Sequence[object]) -> bytes:
        """EVALSHA one script with the clock's now first (batched with the tick's other calls,
        server/live/batch.py); on NOSCRIPT load the scripts and retry once."""
        batcher = self._batchers.get(redis)
        if batcher is None:
            batcher = self._batchers[redis] = ScriptBatcher(redis)
        argv = (self.clock.ms(), *args)
        try:
            return await batcher.evalsha(self.shas[name], keys, argv)
        except NoScriptError:
            await self._reload(redis)
            return await batcher.evalsha(self.shas[name], keys, argv)

    async def _reload(self, redis: Redis) -> None:
        """Load the scripts once for all the callers of a batch that all met NOSCRIPT together."""
        if self._loading is None or self._loading.done():
            self._loading = asyncio.get_running_loop().create_task(self.load(redis))
        await asyncio.shield(self._loading)
