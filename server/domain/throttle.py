"""Rate limits in Redis: fixed-window counters shared by every worker.

`hit` counts an event and says how long to wait when the limit is passed. Login throttling
counts every attempt before the password is checked, in three windows (email+IP, email, IP);
once one is full every attempt (even with the right password) is refused until that window
ends, and a successful login gives its attempt back.
"""
from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from server.config import Settings
from server.errors import RateLimited
from server.keyspace import KeySpace

REGISTRATION_WINDOW = 3600


async def hit(redis: Redis, key: str, limit: int, window: int) -> int | None:
    """Count one event in key's window; seconds to wait if this one exceeds limit, else None."""
    async with redis.pipeline(transaction=True) as pipe:
        # EXPIRE NX starts the window at the first event and never extends it.
        pipe.incr(key).expire(key, window, nx=True).ttl(key)
        count, _, ttl = await pipe.execute()
    if count > limit:
        return max(1, int(ttl))
    return None


# Check every window, and only if none is full count the attempt in all of them: one atomic step,
# so parallel guesses cannot all pass a check made before the (slow) password hash.
_ATTEMPT_LUA = """
local wait = 0
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then
    wait = math.max(wait, redis.call('TTL', KEYS[i]), 1)
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i], 'NX')
end
return 0
"""
# A good password gives its attempt back: the pair's failures are forgotten, the others lose one.
_REFUND_LUA = """
local first = 1
if ARGV[1] == 'pair' then redis.call('DEL', KEYS[1]); first = 2 end
for i = first, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


def _login_windows(settings: Settings, email: str, ip: str | None) -> list[tuple[str, int, int]]:
    """(key, limit, window) for the email+IP pair, the email alone and the IP alone."""
    space, auth = KeySpace(settings.redis.key_prefix), settings.auth
    # The email is hashed so Redis never holds a list of addresses people tried; one hash tag keeps
    # the keys of one script in one Redis Cluster slot.
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    windows = [(space.key("{login}", "email", digest), auth.login_email_max_failures,
                auth.login_email_window_seconds)]
    if ip:
        windows = [
            (space.key("{login}", "pair", digest, ip), auth.login_max_failures, auth.login_window_seconds),
            *windows,
            (space.key("{login}", "ip", ip), auth.login_ip_max_failures, auth.login_window_seconds),
        ]
    return windows


async def login_attempt(redis: Redis, settings: Settings, email: str, ip: str | None) -> None:
    """Count one login attempt before the password is checked; RateLimited if a window is full.

    Three windows: auth.login_max_failures per email+IP (the attacker's own address is locked),
    auth.login_email_max_failures per email from anywhere (slower: strangers cannot lock the
    owner's own address out before it) and auth.login_ip_max_failures per IP (password spraying).
    """
    windows = _login_windows(settings, email, ip)
    args = [v for _, limit, window in windows for v in (limit, window)]
    wait = int(await redis.eval(_ATTEMPT_LUA, len(windows), *[k for k, _, _ in windows], *args))
    if wait > 0:
        raise RateLimited("too many failed logins; try again later", retry_after=wait)


async def login_succeeded(redis: Redis, settings: Settings, email: str, ip: str | None) -> None:
    """Give the attempt back: the right password is not a failure."""
    keys = [k for k, _, _ in _login_windows(settings, email, ip)]
    await redis.eval(_REFUND_LUA, len(keys), *keys, "pair" if ip else "none")


async def check_registration(redis: Redis, settings: Settings, ip: str | None) -> None:
    """Count one registration attempt from ip; RateLimited beyond auth.registrations_per_hour."""
    if not ip:
        return
    key = KeySpace(settings.redis.key_prefix).key("throttle", "register", "ip", ip)
    wait = await hit(redis, key, settings.auth.registrations_per_hour, REGISTRATION_WINDOW)
    if wait is not None:
        raise RateLimited("too many registrations from this address; try again later", retry_after=wait)
