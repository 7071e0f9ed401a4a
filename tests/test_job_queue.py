"""The job queue itself: its schema is procrastinate's, and failed sends are retried, then failed."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import procrastinate

from server.db import MIGRATIONS
from tests.support.checkout import new_order, pay, wait_status
from tests.support.mail import SmtpSink
from tests.support.stores import free_port

MARKER = "-- procrastinate schema follows\n"


def test_the_migration_is_the_pinned_procrastinate_schema() -> None:
    ours = (MIGRATIONS / "007_job_queue.sql").read_text()
    theirs = (Path(procrastinate.__file__).parent / "sql" / "schema.sql").read_text()
    assert ours.split(MARKER, 1)[1] == theirs  # regenerate it (docs/messages.md) after bumping the pin


async def test_a_send_that_keeps_failing_is_retried_with_backoff_then_marked_failed(
        make_client: Any, make_user: Any, make_screening: Any, pg: Any) -> None:
    dead_port = free_port()  # no SMTP server listens here
    client = await make_client(jobs={"worker_in_node": True, "poll_seconds": 0.1, "max_attempts": 3,
                                     "retry_seconds": 0.2}, mail={"smtp_port": dead_port, "timeout_seconds": 2})
    user = await make_user()
    sc = await make_screening()
    created = await new_order(client, user, sc["screening_id"], [sc["seats"]["A1"]])
    await pay(client, created)
    await wait_status(client, user, created["order_key"], {"paid"})
    deadline = asyncio.get_running_loop().time() + 60
    while (row := await pg.fetchrow("SELECT status, attempts, last_error FROM message"))["status"] == "pending":
        assert asyncio.get_running_loop().time() < deadline, f"still pending: {dict(row)}"
        await asyncio.sleep(0.1)
    assert row["status"] == "failed" and row["attempts"] == 3
    assert "Connect" in row["last_error"] or "refused" in row["last_error"].lower()
    # The job finishes just after its last attempt marked the message (procrastinate's own commit).
    while await pg.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"):
        assert asyncio.get_running_loop().time() < deadline, "a job is still queued or running"
        await asyncio.sleep(0.1)


async def test_an_smtp_refusal_is_not_retried(make_client: Any, smtp: SmtpSink, make_user: Any,
                                               make_screening: Any, pg: Any) -> None:
    class Refusing(SmtpSink):
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
            return "550 No such user here"

    sink = Refusing()
    await sink.start()
    try:
        client = await make_client(jobs={"worker_in_node": True, "poll_seconds": 0.1}, mail=sink.settings())
        user = await make_user()
        sc = await make_screening()
        created = await new_order(client, user, sc["screening_id"], [sc["seats"]["A1"]])
        await pay(client, created)
        await wait_status(client, user, created["order_key"], {"paid"})
        deadline = asyncio.get_running_loop().time() + 30
        while (row := await pg.fetchrow("SELECT status, attempts, last_error FROM message"))["status"] == "pending":
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        assert row["status"] == "failed" and row["attempts"] == 1 and "550" in row["last_error"]
    finally:
        await sink.stop()
