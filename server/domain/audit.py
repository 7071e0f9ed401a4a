"""The audit trail: every registration, login, role change and admin write goes to user_action."""
from __future__ import annotations

from typing import Any

import asyncpg

_INSERT = "INSERT INTO user_action (user_id, action, details, ip) VALUES ($1, $2, $3, $4)"


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    user_id: int | None,
    action: str,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Append one entry (call inside the same transaction as the change it describes)."""
    await conn.execute(_INSERT, user_id, action, details or {}, ip)
