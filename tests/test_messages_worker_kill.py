"""A job worker killed mid-send (a real process, SIGKILL): the email still arrives exactly once.

The SMTP server holds the conversation at a chosen step while the test kills `run.py worker`,
then a second worker takes over the dead one's job once its heartbeat is stale:
- killed before the server accepted the message (it had only the envelope, no DATA): nothing was
  delivered, the row lock died with the connection, and the retry delivers it once;
- killed after the server's "250 accepted" but before our commit: the one window where a retry
  sends a second copy, and it carries the same Message-ID, as docs/messages.md says.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from server.config import ROOT, Settings
from tests.support.checkout import new_order, pay, wait_status
from tests.support.mail import SmtpSink

SECONDS = 60.0  # the longest any step may take on a busy machine


class Worker:
    """`python run.py worker` against the test run's database, sending to the test's SMTP server."""

    def __init__(self, settings: Settings, smtp: SmtpSink, log: Path) -> None:
        self.log = log
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOUSEFUL_")},
            "HOUSEFUL_DATABASE_URL": settings.database.url, "HOUSEFUL_AUTH_JWT_SECRET": settings.auth.jwt_secret,
            "HOUSEFUL_MAIL_SMTP_PORT": str(smtp.port), "HOUSEFUL_SERVER_LOG_LEVEL": "WARNING",
            # Beats fast and is declared dead fast, so the test does not wait half a minute.
            "HOUSEFUL_JOBS_HEARTBEAT_SECONDS": "0.2", "HOUSEFUL_JOBS_STALLED_SECONDS": "2",
            "HOUSEFUL_JOBS_STALLED_CHECK_SECONDS": "0.2", "HOUSEFUL_JOBS_POLL_SECONDS": "0.2",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "run.py", "worker"], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"the worker died:\n{self.log.read_text()}"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def workers(settings: Settings, smtp: SmtpSink, tmp_path: Path) -> Any:
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(settings, smtp, tmp_path / f"worker-{len(started)}.log")
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def _message_sent(pg: Any) -> dict[str, Any]:
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        row = await pg.fetchrow("SELECT status, attempts FROM message")
        jobs = await pg.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
        if row["status"] != "pending" and jobs == 0:
            return dict(row)
        await asyncio.sleep(0.1)
    raise AssertionError("the message was not sent")


async def _paid_order(client: Any, make_user: Any, make_screening: Any) -> str:
    user = await make_user()
    sc = await make_screening()
    created = await new_order(client, user, sc["screening_id"], [sc["seats"]["A1"], sc["seats"]["A2"]])
    await pay(client, created)
    await wait_status(client, user, created["order_key"], {"paid"})
    return str(created["order_key"])


@pytest.mark.parametrize("kill_at", ["before_data", "after_250"])
async def test_a_worker_killed_mid_send_leaves_the_message_to_another(
        kill_at: str, client: Any, make_user: Any, make_screening: Any, pg: Any, smtp: SmtpSink, workers: Any) -> None:
    key = await _paid_order(client, make_user, make_screening)  # the app itself runs no worker
    reached, resume = asyncio.Event(), asyncio.Event()

    async def hold_first(envelope: Any) -> None:
        if not reached.is_set():
            reached.set()
            await resume.wait()

    if kill_at == "before_data":
        smtp.on_rcpt = hold_first  # the envelope is given; the message itself never is
    else:
        smtp.on_data = hold_first  # the message is accepted; the worker dies before its commit
    first = workers()
    await asyncio.wait_for(reached.wait(), SECONDS)
    first.kill9()
    resume.set()
    assert await pg.fetchval("SELECT status FROM message") == "pending"  # the lock died with the worker
    workers()  # a second worker finds the dead one's job once its heartbeat is stale, and retries it
    row = await _message_sent(pg)
    assert row["status"] == "sent"
    if kill_at == "before_data":
        [message] = smtp.received  # exactly once
        assert key in str(message["Subject"]) or key in message.get_body(("plain",)).get_content()
    else:
        copies = smtp.received
        assert len(copies) == 2  # the documented window: accepted, then the worker died before commit
        assert copies[0]["Message-ID"] == copies[1]["Message-ID"]  # ... so both say they are the same
