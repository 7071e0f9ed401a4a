"""`run.py backup` and `run.py restore` as real processes: a round trip keeps every user, order and ticket."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import asyncpg
import pytest

from server import db
from server.config import ROOT, Settings
from tests.support.checkout import get_order, new_order, pay, snapshot, wait_status

# What a restore must bring back row for row (the rest is derived or queue bookkeeping).
TABLES = {"app_user": "id", "orders": "id", "ticket": "id", "order_event": "id", "screening": "id"}


async def _run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {**os.environ, "HOUSEFUL_DATABASE_URL": settings.database.url,
           "HOUSEFUL_REDIS_KEY_PREFIX": settings.redis.key_prefix}
    proc = await asyncio.create_subprocess_exec(sys.executable, "run.py", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def _rows(url: str, table: str, key: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        # Table and column names come from the constant TABLES above, never from input.
        return [dict(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")]
    finally:
        await conn.close()


@pytest.fixture
async def restored(settings: Settings) -> AsyncIterator[Settings]:
    """Settings of a second, empty database and key prefix to restore into; dropped afterwards."""
    url = db._with_database(settings.database.url, db.database_name(settings.database.url) + "_restored")
    other = settings.replace(database={"url": url}, redis={"key_prefix": settings.redis.key_prefix + "restored:"})
    await db.drop_database(url)
    yield other
    await db.drop_database(url)
    from server.backup import forget_live_state
    await forget_live_state(other)


async def test_backup_and_restore_keep_every_order_ticket_and_user(
        client, make_client, make_user, make_screening, settings, restored, redis, tmp_path: Path) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["A1"], s["seats"]["A2"]])
    await pay(client, created)
    assert (await wait_status(client, buyer, created["order_key"]))["status"] == "paid"

    dump = tmp_path / "houseful.dump"
    code, out = await _run(settings, "backup", "--output", str(dump))
    assert code == 0 and dump.stat().st_size > 0, out

    # Stale live state under the restored deployment's prefix must not survive the restore.
    stale = restored.redis.key_prefix + "{s:%d}:sold" % s["screening_id"]
    await redis.sadd(stale, 999_999)
    code, out = await _run(restored, "restore", str(dump))
    assert code == 0, out
    assert not await redis.exists(stale)
    for table, key in TABLES.items():
        assert await _rows(restored.database.url, table, key) == await _rows(settings.database.url, table, key), table

    # The buyer, served from the restored database, still has the tickets; the seats are sold.
    again = await make_client(database={"url": restored.database.url}, redis={"key_prefix": restored.redis.key_prefix})
    view = await get_order(again, buyer, created["order_key"])
    assert view["status"] == "paid" and len([t for t in view["tickets"] if t["status"] == "live"]) == 2
    sold = (await snapshot(again, s["screening_id"]))["sold"]
    assert {s["seats"]["A1"], s["seats"]["A2"]} <= set(sold)


async def test_restore_refuses_a_database_that_is_not_empty(settings, tmp_path: Path, pg) -> None:
    dump = tmp_path / "houseful.dump"
    assert (await _run(settings, "backup", "--output", str(dump)))[0] == 0
    users = await pg.fetchval("SELECT count(*) FROM app_user")
    code, out = await _run(settings, "restore", str(dump))
    assert code == 2 and "is not empty" in out
    assert await pg.fetchval("SELECT count(*) FROM app_user") == users


async def test_restore_of_a_missing_file_says_so(settings, tmp_path: Path) -> None:
    code, out = await _run(settings, "restore", str(tmp_path / "nope.dump"))
    assert code == 2 and "no backup file" in out
