"""A user's command budget across all their sockets and workers: one token bucket per user in Redis.

Each socket has its own bucket too (server/ws/core.py); this one stops a user who opens many
sockets from multiplying it. The bucket is a hash {tokens, stamp} refilled on Redis's clock in one
script, so every worker shares it. Redis trouble never blocks a command (the per-socket bucket
still applies): the budget fails open.

Cheap in a rush (issue 13): a worker takes a user's tokens a few at a time (a *lease* of up to
`lease` tokens, spent locally for at most LEASE_SECONDS), and the takes of one event-loop tick
travel in one pipeline (server/live/batch.py). Every token spent was taken from the shared bucket,
so a user never gets more than the budget; the slack is the other way: tokens leased to one worker
and not spent there within LEASE_SECONDS are lost (docs/security.md).
"""
from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.keyspace import KeySpace
from server.live.batch import ScriptBatcher

log = logging.getLogger(__name__)
LEASE_TOKENS = 4  # at most this many of a user's tokens taken at once by one worker
LEASE_SECONDS = 1.0  # a lease's unspent tokens are dropped after this long
MAX_LEASES = 50_000  # users with a live lease on this worker before expired ones are swept

# KEYS: the user's bucket. ARGV: rate per second, burst, tokens wanted. Returns the tokens taken.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(saved[1]) or burst
local stamp = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local taken = math.min(want, math.floor(tokens))
tokens = tokens - taken
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return taken
"""


def lease_size(burst: int) -> int:
    """Tokens per lease: a tenth of the burst, 1..LEASE_TOKENS (a small burst stays exact)."""
    return max(1, min(LEASE_TOKENS, burst // 10))


class UserBudget:
    """Commands per second for one user summed over their sockets (websocket.user_commands_*)."""

    def __init__(self, redis: Redis, space: KeySpace, rate: float, burst: int) -> None:
        self.redis, self.space, self.rate, self.burst = redis, space, rate, burst
        self.lease = lease_size(burst)
        self._script = redis.register_script(_TAKE)
        self._batcher = ScriptBatcher(redis)
        self._leases: dict[int, tuple[float, int]] = {}  # user -> (expires, tokens left), this worker
        self._asking: dict[int, asyncio.Future[None]] = {}  # user -> their lease being taken

    async def take(self, user_id: int) -> bool:
        """Spend one of the user's tokens; False when the user is over budget."""
        while True:
            now = time.monotonic()
            held = self._leases.get(user_id)
            if held is not None and held[0] > now and held[1] > 0:
                self._leases[user_id] = (held[0], held[1] - 1)
                return True
            asking = self._asking.get(user_id)
            if asking is None:
                break
            await asyncio.shield(asking)  # this user's lease is on its way: share it, do not take another
        asking = self._asking[user_id] = asyncio.get_running_loop().create_future()
        try:
            taken = int(await self._take(user_id))
        except (RedisError, OSError, asyncio.TimeoutError):
            log.debug("command budget unavailable; per-socket limits only", exc_info=True)
            return True
        finally:
            del self._asking[user_id]
            asking.set_result(None)
        if taken > 1:
            if len(self._leases) >= MAX_LEASES:
                self._sweep(now)
            self._leases[user_id] = (now + LEASE_SECONDS, taken - 1)
        return taken >= 1

    async def _take(self, user_id: int) -> int:
        keys, args = [self.space.key("commands", user_id)], [self.rate, self.burst, self.lease]
        return await self._batcher.run(self._script.sha, _TAKE, keys, args)

    def _sweep(self, now: float) -> None:
        """Drop expired leases (and all of them if that is not enough: they are only a saving)."""
        self._leases = {user: held for user, held in self._leases.items() if held[0] > now}
        if len(self._leases) >= MAX_LEASES:
            self._leases.clear()
