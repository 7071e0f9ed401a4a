"""Password reset: ask by email, then set a new password with the single-use link it carries.

Asking answers the same whether or not the address has an account (nothing tells them apart),
and is throttled per address and per client IP. The link's token is HMAC(reset key, nonce):
PostgreSQL keeps the nonce and the token's SHA-256, never the token, so a copy of the database
hands out no working link; the email job recomputes it from the secret. A link works once, until
messages.reset_minutes after it was asked for; a newer link or a completed reset ends the others.
Setting the password ends every session of the account (its refresh families in PostgreSQL; access
tokens lapse within auth.access_token_seconds).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from types import SimpleNamespace

import asyncpg
from redis.asyncio import Redis

from server.config import Settings
from server.domain import accounts, audit, outbox, passwords, throttle
from server.errors import RateLimited, error_class
from server.keyspace import KeySpace

InvalidResetLink = error_class("InvalidResetLink", 400, "invalid_token")
WINDOW = 3600  # the throttle counts asks per hour


def reset_secret(jwt_secret: str) -> bytes:
    """The key reset tokens are derived with (derived from, never equal to, the JWT secret)."""
    return hmac.new(jwt_secret.encode(), b"houseful:password-reset", hashlib.sha256).digest()


def reset_token(secret: bytes, nonce: str) -> str:
    """The token in a reset link (43 URL-safe characters) for a reset's random nonce."""
    mac = hmac.new(secret, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _throttle(redis: Redis, settings: Settings, email: str, ip: str | None) -> None:
    space, limit = KeySpace(settings.redis.key_prefix), settings.messages.resets_per_hour
    keys = [space.key("throttle", "reset", "email", hashlib.sha256(email.encode()).hexdigest()[:32])]
    if ip:
        keys.append(space.key("throttle", "reset", "ip", ip))
    for key in keys:
        wait = await throttle.hit(redis, key, limit, WINDOW)
        if wait is not None:
            raise RateLimited("too many password reset requests; try again later", retry_after=wait)


async def ask(pool: asyncpg.Pool, sql: SimpleNamespace, redis: Redis, settings: Settings, secret: bytes, *,
              email: str, now: dt.datetime, ip: str | None = None) -> None:
    """Email a reset link if the address has an account; the caller answers the same either way.

    `sql` is app[keys.QUERIES] (accounts and outbox queries).
    """
    email = accounts.normalise_email(email)
    await _throttle(redis, settings, email, ip)
    user = await pool.fetchrow(sql.accounts.user_by_email, email)
    if user is None:
        return
    nonce = secrets.token_urlsafe(16)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(sql.accounts.reset_close_others, user["id"], now)
        expires = now + dt.timedelta(minutes=settings.messages.reset_minutes)
        reset_id = await conn.fetchval(sql.accounts.reset_insert, user["id"], nonce,
                                       _digest(reset_token(secret, nonce)), now, expires)
        await outbox.enqueue(conn, sql.outbox, kind=outbox.PASSWORD_RESET, subject=str(reset_id),
                             user_id=user["id"], now=now)
        await audit.record(conn, user["id"], "password_reset_asked", {}, ip)


async def complete(pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, *, token: str,
                   password: str, now: dt.datetime, ip: str | None = None) -> int:
    """Set a new password with a reset link's token; every session of the account ends. Returns the user's id."""
    passwords.check_strength(password)
    if not 20 <= len(token) <= 100:
        raise InvalidResetLink("this reset link is not valid; ask for a new one", field="token")
    password_hash = await passwords.hash_password(settings, password)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(sql.accounts.reset_use, _digest(token), now)
        if row is None:
            raise InvalidResetLink("this reset link has expired or was already used; ask for a new one",
                                   field="token")
        await conn.execute(sql.accounts.user_set_password, row["user_id"], password_hash)
        await conn.execute(sql.accounts.reset_close_others, row["user_id"], now)
        await accounts.revoke_all_sessions(conn, sql.accounts, row["user_id"])
        await audit.record(conn, row["user_id"], "password_reset", {"reset_id": row["id"]}, ip)
    return int(row["user_id"])
