"""Backups: PostgreSQL's own custom-format dump and restore, and Redis rebuilt from PostgreSQL.

PostgreSQL is the truth, so a backup is a `pg_dump --format=custom` of the database and nothing
else. A restore goes into an empty database only (never over live data), applies any migrations
newer than the dump, and empties the Redis key space of this deployment: holds are live state
that a restore cannot bring back, and sold seats, versions and caches are rebuilt from
PostgreSQL on each screening's next warm-up (docs/faults.md).
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import asyncpg
from server.redis_client import delete_prefix

from server import db
from server.config import Settings, data_path

# Tables of the application itself; PostgreSQL's own catalogs never count as "not empty".
_USER_TABLES = "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: it comes with Debian's postgresql-client package")
    return path


def default_path(settings: Settings, now: dt.datetime) -> Path:
    """<data_dir>/backups/<database>-<UTC time>.dump"""
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return data_path(settings) / "backups" / f"{db.database_name(settings.database.url)}-{stamp}.dump"


def backup(settings: Settings, target: Path) -> Path:
    """Dump the configured database to target (custom format: compressed, restorable table by table)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                             f"--file={partial}", f"--dbname={settings.database.url}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(target)  # a half-written dump never carries the final name
    return target


async def _is_empty(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(_USER_TABLES) == 0
    finally:
        await conn.close()


async def forget_live_state(settings: Settings) -> int:
    """Delete every Redis key under this deployment's prefix; how many went."""
    return await delete_prefix(settings.redis.url, settings.redis.key_prefix)


async def restore(settings: Settings, source: Path) -> list[str]:
    """Restore a dump into the configured database, which must be empty; migrations applied after."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    url = settings.database.url
    await db.ensure_database(url)
    if not await _is_empty(url):
        raise BackupError(f"database {db.database_name(url)} is not empty: restore only into a new, empty "
                          "database (set HOUSEFUL_DATABASE_URL to one), with no server running against it")
    result = subprocess.run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                             "--single-transaction", f"--dbname={url}", str(source)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was restored): {result.stderr.strip()}")
    applied = await db.migrate(url)
    await forget_live_state(settings)
    return applied
