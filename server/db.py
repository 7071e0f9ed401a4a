"""PostgreSQL: the pool (with orjson codecs), database creation and the migration runner."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from server.config import ROOT, ConfigError, Settings
from server.metrics import PG_ACQUIRE_SECONDS, PG_QUERY_SECONDS

log = logging.getLogger(__name__)
MIGRATIONS = ROOT / "sql" / "migrations"
# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK = 7_201_944_113
_DB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class TimedPool(asyncpg.Pool):
    """asyncpg's pool, timing how long each checkout waits (houseful_pg_acquire_seconds).

    `_acquire` is where every acquire() and pool.fetch()/execute() waits; asyncpg has no public
    hook there. tests/test_metrics.py fails if a new asyncpg stops calling it.
    """

    async def _acquire(self, timeout: float | None) -> asyncpg.pool.PoolConnectionProxy:
        started = time.perf_counter()
        try:
            return await super()._acquire(timeout)  # type: ignore[misc]
        finally:
            PG_ACQUIRE_SECONDS.observe(time.perf_counter() - started)


def _observe_query(query: asyncpg.connection.LoggedQuery) -> None:
    PG_QUERY_SECONDS.observe(query.elapsed)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # asyncpg times each statement itself and hands the record to its query loggers.
    conn.add_query_logger(_observe_query)
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """A pool whose connections speak json/jsonb through orjson, timed for /metrics."""
    # asyncpg.create_pool(...) is this constructor with these defaults; it takes no pool class.
    return await TimedPool(
        settings.database.url,
        min_size=settings.database.pool_min,
        max_size=settings.database.pool_max,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        command_timeout=settings.database.command_timeout,
        init=_init_connection,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(url: str) -> str:
    """The database part of a postgresql:// URL (letters, digits and underscores only)."""
    name = urlsplit(url).path.lstrip("/") or "postgres"
    if not _DB_NAME.fullmatch(name):
        raise ConfigError(f"setting database.url: database name {name!r} must be letters, digits and _")
    return name


async def _database_ddl(admin: asyncpg.Connection, verb: str, name: str) -> None:
    # CREATE/DROP DATABASE take no bind parameters for the name and cannot run inside a function
    # or DO block, so the statement is composed here: the name is validated by database_name()
    # and quoted by PostgreSQL's own quote_ident, and the verb is one of two constants.
    assert verb in ("CREATE DATABASE", "DROP DATABASE IF EXISTS")
    quoted = await admin.fetchval("SELECT quote_ident($1)", name)
    statement = f"{verb} {quoted}" + (" WITH (FORCE)" if verb.startswith("DROP") else "")
    await admin.execute(statement)


async def ensure_database(url: str) -> bool:
    """Create the database named in url if it does not exist; True when it was created."""
    name = database_name(url)
    admin = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await _database_ddl(admin, "CREATE DATABASE", name)
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    """Drop the database named in url (tests only)."""
    name = database_name(url)
    admin = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await _database_ddl(admin, "DROP DATABASE IF EXISTS", name)
    finally:
        await admin.close()


def migration_files(folder: Path = MIGRATIONS) -> list[Path]:
    """Migration files in the order they apply (their names start with a zero-padded number)."""
    return sorted(folder.glob("[0-9]*.sql"))


async def migrate(url: str, folder: Path = MIGRATIONS) -> list[str]:
    """Apply pending migrations under an advisory lock; safe when several processes start at once."""
    conn = await asyncpg.connect(url)
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migration")}
            for path in migration_files(folder):
                if path.stem in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("INSERT INTO schema_migration (version) VALUES ($1)", path.stem)
                applied.append(path.stem)
                log.info("applied migration %s", path.stem)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    finally:
        await conn.close()
    return applied

