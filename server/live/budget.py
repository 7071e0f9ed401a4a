"""A user's command budget across all their sockets and workers: one token bucket per user in Redis.

Each socket has its own bucket too (server/ws/core.py); this one stops a user who opens many
sockets from multiplying it. The bucket is a hash {tokens, stamp} refilled on Redis's clock in one
script, so every worker shares it. Redis trouble never blocks a command (the per-socket bucket
still applies): the budget fails open.
"""
from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.keyspace import KeySpace

log = logging.getLogger(__name__)

# KEYS: the user's bucket. ARGV: rate per second, burst. Returns 1 when a token was taken.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(saved[1]) or burst
local stamp = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local taken = 0
if tokens >= 1 then tokens = tokens - 1; taken = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return taken
"""


class UserBudget:
    """Commands per second for one user summed over their sockets (websocket.user_commands_*)."""

    def __init__(self, redis: Redis, space: KeySpace, rate: float, burst: int) -> None:
        self.space, self.rate, self.burst = space, rate, burst
        self._take = redis.register_script(_TAKE)

    async def take(self, user_id: int) -> bool:
        """Spend one of the user's tokens; False when the user is over budget."""
        try:
            return bool(await self._take(keys=[self.space.key("commands", user_id)], args=[self.rate, self.burst]))
        except (RedisError, OSError, asyncio.TimeoutError):
            log.debug("command budget unavailable; per-socket limits only", exc_info=True)
            return True
