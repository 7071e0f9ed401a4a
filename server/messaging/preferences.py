"""What each user wants to hear, and where their browsers receive pushes.

Settings: email (reminders and waiting-list offers by email; receipts and account mail are always
emailed), push (the same by push on every subscribed browser), the day-before reminder on or off,
and how many hours before the show the second reminder comes (0 = none). No row means the
defaults (config.yaml `messages`).
"""
from __future__ import annotations

import base64
import binascii
from types import SimpleNamespace
from typing import Any, Mapping

import asyncpg

from server.config import Settings
from server.errors import InvalidInput
from server.messaging.push import check_endpoint

HOURS_CHOICES = (0, 1, 2, 3, 4, 6)  # what the settings page offers for "before the show"


def defaults(settings: Settings) -> dict[str, Any]:
    """The settings of a user who never changed them."""
    return {"email": True, "push": False, "remind_day_before": True, "remind_hours": settings.messages.hours_before}


async def get(pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, user_id: int) -> dict[str, Any]:
    """A user's settings (defaults filled in) and how many browsers receive their pushes."""
    row = await pool.fetchrow(sql.settings_get, user_id)
    out = defaults(settings) if row is None else dict(row)
    if out["remind_hours"] is None:
        out["remind_hours"] = settings.messages.hours_before
    out["push_devices"] = await pool.fetchval(sql.push_count, user_id)
    return out


async def put(pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, user_id: int,
              changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change some settings (the rest stay); the settings after."""
    hours = changes.get("remind_hours")
    if hours is not None and hours not in HOURS_CHOICES and hours != settings.messages.hours_before:
        raise InvalidInput(f"remind_hours must be one of {', '.join(map(str, HOURS_CHOICES))}", field="remind_hours")
    now = {**await get(pool, sql, settings, user_id), **changes}
    await pool.fetchrow(sql.settings_put, user_id, now["email"], now["push"], now["remind_day_before"],
                        now["remind_hours"])
    return await get(pool, sql, settings, user_id)


def _key(value: str, size: int, field: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise InvalidInput(f"{field} must be the browser's base64url key of {size} bytes", field=f"keys.{field}")
    return value


async def subscribe(pool: asyncpg.Pool, sql: SimpleNamespace, settings: Settings, user_id: int, endpoint: str,
                    p256dh: str, auth: str) -> None:
    """Remember a browser's push subscription for this user (an allowed push service only)."""
    check_endpoint(settings.push, endpoint)
    await pool.execute(sql.push_subscribe, user_id, endpoint, _key(p256dh, 65, "p256dh"), _key(auth, 16, "auth"))


async def unsubscribe(pool: asyncpg.Pool, sql: SimpleNamespace, user_id: int, endpoint: str) -> None:
    """Forget a browser's subscription (its user turned push off there)."""
    await pool.execute(sql.push_unsubscribe, user_id, endpoint)
