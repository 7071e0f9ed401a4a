"""Rate limits in Redis: fixed-window counters shared by every worker.

`hit` counts an event and says how long to wait when the limit is passed; `blocked`
only looks. Login throttling counts failures per email and per client IP; once either
reaches auth.login_max_failures within the window, every attempt (even with the right
password) is refused until the window ends.
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


async def blocked(redis: Redis, key: str, limit: int) -> int | None:
    """Seconds to wait if key's window already holds `limit` events, else None."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(key).ttl(key)
        count, ttl = await pipe.execute()
    if count is not None and int(count) >= limit:
        return max(1, int(ttl))
    return None


def _login_keys(space: KeySpace, email: str, ip: str | None) -> list[str]:
    # The email is hashed so Redis never holds a list of addresses people tried.
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    keys = [space.key("throttle", "login", "email", digest)]
    if ip:
        keys.append(space.key("throttle", "login", "ip", ip))
    return keys


async def check_login(redis: Redis, settings: Settings, email: str, ip: str | None) -> None:
    """Raise RateLimited while this email or this IP has too many recent failed logins."""
    space = KeySpace(settings.redis.key_prefix)
    waits = [await blocked(redis, key, settings.auth.login_max_failures) for key in _login_keys(space, email, ip)]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise RateLimited("too many failed logins; try again later", retry_after=wait)


async def login_failed(redis: Redis, settings: Settings, email: str, ip: str | None) -> None:
    """Count one failed login against the email and the IP."""
    space = KeySpace(settings.redis.key_prefix)
    for key in _login_keys(space, email, ip):
        await hit(redis, key, settings.auth.login_max_failures, settings.auth.login_window_seconds)


async def login_succeeded(redis: Redis, settings: Settings, email: str) -> None:
    """Forget the email's failures (the IP's stay: one good account must not unlock guessing)."""
    space = KeySpace(settings.redis.key_prefix)
    await redis.delete(_login_keys(space, email, None)[0])


async def check_registration(redis: Redis, settings: Settings, ip: str | None) -> None:
    """Count one registration attempt from ip; RateLimited beyond auth.registrations_per_hour."""
    if not ip:
        return
    key = KeySpace(settings.redis.key_prefix).key("throttle", "register", "ip", ip)
    wait = await hit(redis, key, settings.auth.registrations_per_hour, REGISTRATION_WINDOW)
    if wait is not None:
        raise RateLimited("too many registrations from this address; try again later", retry_after=wait)
