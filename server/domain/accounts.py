"""Accounts: registration, login, sessions (refresh tokens), profiles, roles and the first admin.

Knows nothing of HTTP. Every registration, login (success and failure), logout, role change
and admin write is recorded in user_action, in the same transaction as the change.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

import asyncpg
from redis.asyncio import Redis

from server.config import ROOT, Settings
from server.domain import audit, passwords, throttle
from server.domain.tokens import ROLES, issue_access
from server.errors import InvalidInput, NotFound, error_class
from server.queries import load_queries

log = logging.getLogger(__name__)

EmailTaken = error_class("EmailTaken", 409, "email_taken")
BadCredentials = error_class("BadCredentials", 401, "bad_credentials")
SessionExpired = error_class("SessionExpired", 401, "session_expired")
WrongPassword = error_class("WrongPassword", 400, "wrong_password")
LastAdmin = error_class("LastAdmin", 409, "last_admin")
BAD_CREDENTIALS = "wrong email or password"
ADMIN_PASSWORD_FILE = "admin_password"

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
_REFRESH = re.compile(r"^([A-Za-z0-9_-]{16,64})\.[A-Za-z0-9_-]{16,128}$")
def public(row: Mapping[str, Any]) -> dict[str, Any]:
    """A user as the API shows it (never the password hash)."""
    return {k: row[k] for k in ("id", "email", "name", "phone", "role", "created_at")}


# --- input rules ---------------------------------------------------------------------------

def normalise_email(raw: str) -> str:
    """Lower-cased, trimmed and checked email; InvalidInput(field=email) otherwise."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("enter a valid email address", field="email")
    return email


def clean_name(raw: str) -> str:
    """A trimmed name of 1..200 printable characters."""
    name = raw.strip()
    if not 1 <= len(name) <= 200 or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput("the name needs 1 to 200 printable characters", field="name")
    return name


def clean_phone(raw: str | None) -> str | None:
    """None for no phone, else a phone number of 6..20 digits, spaces, brackets or dashes."""
    if raw is None or not raw.strip():
        return None
    phone = raw.strip()
    if not _PHONE.match(phone):
        raise InvalidInput("enter a phone number of 6 to 20 digits, e.g. +44 20 7946 0000", field="phone")
    return phone


# --- registration and login ----------------------------------------------------------------

async def register(
    pool: asyncpg.Pool, sql: SimpleNamespace, redis: Redis, settings: Settings, *,
    email: str, name: str, password: str, phone: str | None = None, ip: str | None = None,
) -> dict[str, Any]:
    """Create a customer account; EmailTaken when the email is in use."""
    await throttle.check_registration(redis, settings, ip)
    email, name, phone = normalise_email(email), clean_name(name), clean_phone(phone)
    passwords.check_strength(password)
    if await pool.fetchval(sql.user_by_email, email) is not None:
        raise EmailTaken("an account with this email already exists", field="email")
    password_hash = await passwords.hash_password(settings, password)
    try:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(sql.user_insert, email, name, phone, password_hash)
            await audit.record(conn, row["id"], "register", {"email": email}, ip)
    except asyncpg.UniqueViolationError:
        # Two registrations raced past the check above; the constraint decides.
        raise EmailTaken("an account with this email already exists", field="email") from None
    return public(row)


async def authenticate(
    pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, *, email: str, password: str,
    ip: str | None = None,
) -> dict[str, Any]:
    """The user whose email and password match; BadCredentials (same message either way) if not."""
    email = email.strip().lower()
    row = await pool.fetchrow(sql.user_by_email, email) if len(email) <= 254 else None
    if row is None:
        await passwords.dummy_verify(settings, password)
        await audit.record(pool, None, "login_failed", {"email": email[:254], "reason": "unknown_email"}, ip)
        raise BadCredentials(BAD_CREDENTIALS)
    ok, new_hash = await passwords.verify_password(settings, password, row["password_hash"])
    if not ok:
        await audit.record(pool, row["id"], "login_failed", {"reason": "wrong_password"}, ip)
        raise BadCredentials(BAD_CREDENTIALS)
    async with pool.acquire() as conn, conn.transaction():
        if new_hash is not None:
            await conn.execute(sql.user_set_password, row["id"], new_hash)
        await audit.record(conn, row["id"], "login", {"rehashed": new_hash is not None}, ip)
    return public(row)


async def login(
    pool: asyncpg.Pool, sql: SimpleNamespace, redis: Redis, settings: Settings, *, email: str, password: str,
    ip: str | None = None,
) -> dict[str, Any]:
    """authenticate() behind the login throttle: the attempt is counted before the password is checked."""
    key = email.strip().lower()
    await throttle.login_attempt(redis, settings, key, ip)
    user = await authenticate(pool, sql, settings, email=email, password=password, ip=ip)
    await throttle.login_succeeded(redis, settings, key, ip)
    return user


# --- sessions: short-lived access JWT + rotating refresh token -------------------------------

@dataclass(frozen=True)
class Session:
    """What a login or refresh hands the client."""

    user: dict[str, Any]
    access_token: str
    access_expires_at: int
    refresh_token: str

    def to_dict(self, settings: Settings) -> dict[str, Any]:
        """The JSON body for API clients."""
        return {
            "user": self.user, "token_type": "Bearer", "access_token": self.access_token,
            "expires_in": settings.auth.access_token_seconds, "refresh_token": self.refresh_token,
            "refresh_expires_in": settings.auth.refresh_token_seconds,
        }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _at(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, dt.timezone.utc)


async def open_session(pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, secret: str,
                       user: Mapping[str, Any], *, now: float) -> Session:
    """A new access token (issued at `now`, the app's clock) and a new refresh token family for user.

    Families live in PostgreSQL (a Redis restart logs nobody out); only a hash of the token is stored.
    """
    family = secrets.token_urlsafe(16)
    token = f"{family}.{secrets.token_urlsafe(32)}"
    expires = _at(now + settings.auth.refresh_token_seconds)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(sql.session_prune, user["id"], _at(now))
        await conn.execute(sql.session_insert, family, user["id"], _digest(token), _at(now), expires)
    access, exp = issue_access(user["id"], user["role"], secret, settings.auth.access_token_seconds, now=now)
    return Session(dict(user), access, exp, token)


async def refresh_session(
    pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, secret: str, token: str,
    ip: str | None = None, *, now: float,
) -> Session:
    """Rotate a refresh token: the old one dies, the role is re-read from the database."""
    match = _REFRESH.match(token or "")
    if match is None:
        raise SessionExpired("the session has ended; log in again")
    family = match.group(1)
    new_token = f"{family}.{secrets.token_urlsafe(32)}"
    expires = _at(now + settings.auth.refresh_token_seconds)
    async with pool.acquire() as conn, conn.transaction():
        uid = await conn.fetchval(sql.session_rotate, family, _digest(token), _digest(new_token), _at(now), expires)
        reused = None if uid is not None else await conn.fetchval(sql.session_revoke_family, family)
        if reused is not None:
            # A rotated token came back: someone else holds a copy, so the whole family is revoked.
            await audit.record(conn, reused, "refresh_reuse", {"family": family[:8]}, ip)
        row = await conn.fetchrow(sql.user_get, uid) if uid is not None else None
    if row is None:
        raise SessionExpired("the session has ended; log in again")
    access, exp = issue_access(row["id"], row["role"], secret, settings.auth.access_token_seconds, now=now)
    return Session(public(row), access, exp, new_token)


async def close_session(
    pool: asyncpg.Pool, sql: SimpleNamespace, token: str | None, *, user_id: int | None = None,
    ip: str | None = None,
) -> None:
    """Log out: revoke the refresh token's family (the access JWT lapses on its own)."""
    match = _REFRESH.match(token or "")
    async with pool.acquire() as conn, conn.transaction():
        if match is not None:
            owner = await conn.fetchval(sql.session_revoke_family, match.group(1))
            user_id = user_id or owner
        if user_id is not None:
            await audit.record(conn, user_id, "logout", {}, ip)


async def revoke_all_sessions(conn: asyncpg.Connection, sql: SimpleNamespace, user_id: int) -> None:
    """End every refresh token family of a user (after a password change, in its transaction)."""
    await conn.execute(sql.session_revoke_user, user_id)


# --- profile and administration --------------------------------------------------------------

async def get_user(pool: asyncpg.Pool, sql: SimpleNamespace, user_id: int) -> dict[str, Any]:
    """One user; NotFound if there is none."""
    row = await pool.fetchrow(sql.user_get, user_id)
    if row is None:
        raise NotFound(f"no user {user_id}")
    return public(row)


async def update_profile(
    pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, user_id: int,
    changes: Mapping[str, Any], ip: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Change name, phone and/or password (needs current_password); (user, password_changed)."""
    name = clean_name(changes["name"]) if "name" in changes else None
    phone = clean_phone(changes["phone"]) if "phone" in changes else None
    new_hash = None
    if "password" in changes:
        new_hash = await _new_password_hash(pool, sql, settings, user_id, changes)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            sql.user_set_profile, user_id, name, phone, "name" in changes, "phone" in changes
        )
        if row is None:
            raise NotFound(f"no user {user_id}")
        if new_hash is not None:
            await conn.execute(sql.user_set_password, user_id, new_hash)
            await revoke_all_sessions(conn, sql, user_id)
        fields = sorted(k for k in changes if k != "current_password")
        await audit.record(conn, user_id, "profile_update", {"fields": fields}, ip)
    return public(row), new_hash is not None


async def _new_password_hash(
    pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, user_id: int, changes: Mapping[str, Any]
) -> str:
    current = changes.get("current_password")
    if not current:
        raise InvalidInput("give your current password to set a new one", field="current_password")
    passwords.check_strength(changes["password"])
    stored = await pool.fetchval(sql.user_password_hash, user_id)
    if stored is None:
        raise NotFound(f"no user {user_id}")
    ok, _ = await passwords.verify_password(settings, current, stored)
    if not ok:
        raise WrongPassword("the current password is wrong", field="current_password")
    return await passwords.hash_password(settings, changes["password"])


async def list_users(
    pool: asyncpg.Pool, sql: SimpleNamespace, *, q: str | None = None, role: str | None = None, limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of users, optionally searched by email or name and filtered by role."""
    pattern = None
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    rows = await pool.fetch(sql.user_list, pattern, role, limit, offset)
    total = await pool.fetchval(sql.user_count, pattern, role)
    return {"items": [public(r) for r in rows], "total": total, "limit": limit, "offset": offset}


async def change_role(
    pool: asyncpg.Pool, sql: SimpleNamespace, *, actor_id: int, user_id: int, role: str, ip: str | None = None
) -> dict[str, Any]:
    """Set a user's role (admin only, audited); the last admin cannot be demoted."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    async with pool.acquire() as conn, conn.transaction():
        # Lock the admins first, always in id order, so concurrent demotions cannot deadlock.
        admins = [r["id"] for r in await conn.fetch(sql.admins_lock)]
        row = await conn.fetchrow(sql.user_get_for_update, user_id)
        if row is None:
            raise NotFound(f"no user {user_id}")
        if row["role"] == role:
            return public(row)
        if row["role"] == "admin" and admins == [user_id]:
            raise LastAdmin("the last admin cannot lose the admin role", field="role")
        updated = await conn.fetchrow(sql.user_set_role, user_id, role)
        await audit.record(conn, actor_id, "role_change", {"user_id": user_id, "from": row["role"], "to": role}, ip)
    return public(updated)


# --- the first admin -------------------------------------------------------------------------

def _data_dir(settings: Settings) -> Path:
    path = Path(settings.data_dir)
    return path if path.is_absolute() else ROOT / path


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file may have looser permissions
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")


async def _upsert_admin(conn: asyncpg.Connection, sql: SimpleNamespace, settings: Settings, email: str, name: str,
                        password: str) -> bool:
    password_hash = await passwords.hash_password(settings, password)
    row = await conn.fetchrow(sql.admin_upsert, email, name, password_hash)
    action = "admin_created" if row["created"] else "admin_promoted"
    await audit.record(conn, row["id"], action, {"email": email}, None)
    return bool(row["created"])


async def ensure_first_admin(pool: asyncpg.Pool, settings: Settings) -> None:
    """On start: if no admin exists and admin.email is set, create (or promote) that admin.

    Runs before the app exists (run.py serve), so it loads its queries with the one loader.
    """
    sql = load_queries().accounts
    if not settings.admin.email:
        if not await pool.fetchval(sql.admin_exists):
            log.warning("no admin exists: set HOUSEFUL_ADMIN_EMAIL or run `python run.py create-admin`")
        return
    email = normalise_email(settings.admin.email)
    async with pool.acquire() as conn, conn.transaction():
        # Several workers may start at once: one decides, the others then see the admin.
        await conn.execute(sql.bootstrap_lock)
        if await conn.fetchval(sql.admin_exists):
            return
        password = settings.admin.password
        if password:
            passwords.check_strength(password, field="admin.password")
        else:
            password = passwords.generate()
            _write_secret(_data_dir(settings) / ADMIN_PASSWORD_FILE, password)
        await _upsert_admin(conn, sql, settings, email, "Administrator", password)
    if settings.admin.password:
        log.info("created admin %s (password from admin.password)", email)
    else:
        shown = Path(settings.data_dir) / ADMIN_PASSWORD_FILE
        log.info("created admin %s; password in %s", email, shown)


async def create_admin(pool: asyncpg.Pool, settings: Settings, *, email: str, name: str, password: str) -> None:
    """run.py create-admin: create an admin, or promote an existing user and reset the password."""
    sql = load_queries().accounts
    email, name = normalise_email(email), clean_name(name)
    passwords.check_strength(password)
    async with pool.acquire() as conn, conn.transaction():
        created = await _upsert_admin(conn, sql, settings, email, name, password)
    log.info("%s admin %s", "created" if created else "promoted", email)
