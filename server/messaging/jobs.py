"""The job queue: procrastinate on PostgreSQL, its tasks, and the worker every node can run.

Why procrastinate (docs/messages.md): messages are promises to customers and must survive a
Redis restart (invariant 8), so the queue lives beside the outbox in PostgreSQL, and a job can be
deferred in the very transaction that writes its message (server/domain/outbox.py). It brings
retries with backoff, periodic tasks deduplicated across workers, per-job locks, LISTEN/NOTIFY
wake-ups and worker heartbeats. It speaks psycopg 3, so the worker has its own small psycopg pool
beside the app's asyncpg pool.

A worker runs inside each server process (jobs.worker_in_node) and as `run.py worker`. Any number
may run on any number of machines: a job is fetched by one worker (row locks in PostgreSQL), and
the message's own row lock (server/messaging/sender.py) keeps a retried job from sending twice.
A worker that dies stops beating; every worker looks for dead workers' jobs every
jobs.stalled_check_seconds and retries them.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import procrastinate
from procrastinate.exceptions import ProcrastinateException
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from server.config import JobSettings
from server.domain import forecasts
from server.messaging.monthly_reports import deliver_monthly_reports
from server.messaging.reminders import queue_reminders
from server.messaging.sender import Messenger, SendFailed, deliver

log = logging.getLogger(__name__)
QUEUE = "messages"
GRACEFUL_STOP_SECONDS = 5.0  # a stopping worker lets running sends finish this long
MAX_RETRY_SECONDS = 3600
RESTART_SECONDS = 5.0  # a worker that stopped by an error (a database outage) starts again after this


class Backoff(BaseRetryStrategy):
    """Retry a failed send after retry_seconds, doubling each time (at most an hour), max_attempts in all."""

    def __init__(self, jobs: JobSettings) -> None:
        self.first, self.attempts = jobs.retry_seconds, jobs.max_attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, SendFailed) or job.attempts + 1 >= self.attempts:
            return None
        return RetryDecision(retry_in={"seconds": min(self.first * 2 ** job.attempts, MAX_RETRY_SECONDS)})


def build_queue(messenger: Messenger) -> procrastinate.App:
    """The procrastinate App with Houseful's tasks, on its own psycopg pool (opened by the caller)."""
    jobs = messenger.settings.jobs
    connector = procrastinate.PsycopgConnector(conninfo=messenger.settings.database.url, min_size=1,
                                               max_size=max(2, jobs.pool_max))
    app = procrastinate.App(connector=connector)

    @app.task(name="send_message", queue=QUEUE, pass_context=True, retry=Backoff(jobs))
    async def send_message(context: procrastinate.JobContext, message_id: int) -> str:
        """Send one outbox message (deferred by server/domain/outbox.py with the change)."""
        last = context.job.attempts + 1 >= jobs.max_attempts
        return await deliver(messenger, message_id, last_attempt=last)

    @app.periodic(cron="* * * * *", periodic_id="reminders")
    @app.task(name="queue_reminders", queue=QUEUE, pass_context=False)
    async def reminders(timestamp: int) -> int:
        """Every minute: write the reminders due now (by the app's clock) to the outbox."""
        return await queue_reminders(messenger.pool, messenger.sql, messenger.settings, messenger.clock.now())

    @app.periodic(cron="*/15 * * * *", periodic_id="monthly_reports")
    @app.task(name="monthly_reports", queue=QUEUE, pass_context=False)
    async def monthly_reports(timestamp: int) -> int:
        """Every 15 minutes: make the reports of cinemas whose new month has begun (once each)."""
        if not messenger.settings.jobs.monthly_reports:
            return 0
        return len(await deliver_monthly_reports(messenger.pool, messenger.sql, messenger.settings,
                                                 messenger.clock.now()))

    @app.periodic(cron="7 * * * *", periodic_id="forecast")
    @app.task(name="refit_forecast", queue=QUEUE, pass_context=False)
    async def refit_forecast(timestamp: int) -> int:
        """Hourly: refit the sell-out forecast on the latest sales history; how many rows it learnt from."""
        model = await forecasts.refit(messenger.pool, messenger.sql.forecast, messenger.clock.now())
        return model.rows

    return app


async def retry_stalled(app: procrastinate.App, jobs: JobSettings) -> int:
    """Retry the jobs of workers silent for jobs.stalled_seconds (dead); how many were retried."""
    manager = app.job_manager
    await manager.prune_stalled_workers(jobs.stalled_seconds)
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=jobs.stalled_seconds):
        try:
            await manager.retry_job(job)
        except ProcrastinateException:
            continue  # another worker retried it first
        log.warning("job %s (%s) of a dead worker is retried", job.id, job.task_name)
        retried += 1
    return retried


async def _watch_stalled(app: procrastinate.App, jobs: JobSettings) -> None:
    while True:
        try:
            await retry_stalled(app, jobs)
        except Exception as exc:  # a database blip: try again next round
            log.warning("looking for stalled jobs failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(jobs.stalled_check_seconds)


async def run_worker(messenger: Messenger, *, name: str | None = None) -> None:
    """Run a worker until cancelled: message sends, periodic tasks, dead workers' jobs retried."""
    jobs = messenger.settings.jobs
    app = build_queue(messenger)
    async with app.open_async():
        watcher = asyncio.create_task(_watch_stalled(app, jobs), name="jobs-stalled")
        try:
            await app.run_worker_async(
                queues=[QUEUE], name=name or f"{socket.gethostname()}-{os.getpid()}", concurrency=jobs.concurrency,
                install_signal_handlers=False, delete_jobs="successful", listen_notify=True,
                fetch_job_polling_interval=jobs.poll_seconds, update_heartbeat_interval=jobs.heartbeat_seconds,
                stalled_worker_timeout=jobs.stalled_seconds, shutdown_graceful_timeout=GRACEFUL_STOP_SECONDS,
            )
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


async def keep_working(messenger: Messenger, *, name: str | None = None) -> None:
    """run_worker, started again (after RESTART_SECONDS) whenever it stops by an error, until cancelled.

    A PostgreSQL outage ends procrastinate's worker; the node serving pages must not stop sending
    for good because of it. Jobs the worker was running are retried as a dead worker's.
    """
    while True:
        try:
            await run_worker(messenger, name=name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("the job worker stopped (%s: %s); starting it again in %ss", type(exc).__name__, exc,
                        RESTART_SECONDS)
        await asyncio.sleep(RESTART_SECONDS)
