"""Shared fixtures: a private PostgreSQL database and Redis key prefix per test run.

Each run creates `houseful_test_<random>` on the configured PostgreSQL server and uses the
key prefix `hftest:<random>:` on the configured Redis, so runs never touch each other's data
or a developer's. Every test starts from empty tables and no keys of its own prefix.

Tests own the clock: the app, tokens and factories read `clock`, a ShiftedClock at the system's
time unless the test is parametrised with an instant (tests/support/clocks.py's `at_any_hour`).
"""
from __future__ import annotations

import asyncio
import io
import secrets
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server import db
from server.app import HousefulRunner, create_app
from server.clock import ShiftedClock
from server.config import Settings, load_settings
from server.domain.tokens import issue_access
from server.redis_client import client_for, delete_prefix
from tests.support.mail import SmtpSink
from scripts.redis_cluster import LocalRedisCluster
from tests.support.stores import PrivateRedis, local_redis_cluster, remove, temp_folder

TABLES = (
    "sandbox_webhook, sandbox_payment, ticket, order_event, orders, screening, movie_genre, movie, genre, "
    "seat, auditorium, cinema, user_action, app_user, message, notification_settings, push_subscription, "
    "password_reset, waitlist_entry, procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, "
    "procrastinate_workers"
)


async def _drop_keys(url: str, prefix: str) -> None:
    await delete_prefix(url, prefix)


@pytest.fixture(scope="session")
def base_settings() -> Iterator[Settings]:
    """Settings for this run: its own database and Redis prefix, cheap argon2, a fixed JWT secret."""
    loaded = load_settings()
    run = secrets.token_hex(4)
    url = db._with_database(loaded.database.url, f"houseful_test_{run}")
    settings = loaded.replace(
        database={"url": url, "pool_min": 1, "pool_max": 8},
        redis={"key_prefix": f"hftest:{run}:"},
        auth={"jwt_secret": "test-only-" + secrets.token_hex(16), "argon2_memory_kib": 256, "argon2_rounds": 1},
        # Messages wait in the outbox unless a test runs a job worker (tests/test_messages*.py).
        # The monthly reports job is called directly by tests/test_reports_delivery.py.
        jobs={"worker_in_node": False, "monthly_reports": False},
    )

    async def setup() -> None:
        await db.ensure_database(url)
        await db.migrate(url)

    asyncio.run(setup())
    yield settings
    asyncio.run(db.drop_database(url))
    asyncio.run(_drop_keys(settings.redis.url, settings.redis.key_prefix))


@pytest.fixture
async def settings(base_settings: Settings) -> AsyncIterator[Settings]:
    """The run's settings, with every table emptied and every key of the run's prefix gone."""
    conn = await asyncpg.connect(base_settings.database.url)
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    await _drop_keys(base_settings.redis.url, base_settings.redis.key_prefix)
    yield base_settings


@pytest.fixture
async def pg(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the run's database, for arranging and checking data."""
    conn = await asyncpg.connect(settings.database.url)
    yield conn
    await conn.close()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A direct Redis client (keys must use settings.redis.key_prefix)."""
    client = client_for(settings.redis.url)
    yield client
    await client.aclose()


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ShiftedClock:
    """The test's clock: it starts at the instant the test is parametrised with (indirect), else
    at the system's time, and flows at the real rate; `advance` lets time pass without waiting."""
    start = getattr(request, "param", None)
    return ShiftedClock.starting_at(start) if start is not None else ShiftedClock(0.0)


SHUTDOWN_SECONDS = 5.0  # as run.py's workers (server/serve.py)


class ServedLikeProduction(TestServer):
    """aiohttp's test server, but without handler cancellation on disconnect, as run.py serves.

    The test server cancels a handler when its client goes away; aiohttp's FileResponse then loses
    a file it was opening in the executor (a ResourceWarning whenever a browser left a page while
    its posters were loading). Production never cancels, so neither do the tests.
    """

    async def _make_runner(self, **kwargs: Any) -> Any:
        # Houseful's runner, as run.py serves: it applies the per-IP connection cap, and a handler
        # still running SHUTDOWN_SECONDS after the sockets were closed is cancelled (aiohttp's
        # default waits 60 s, twice).
        self._stuck: list[str] = []
        self._watchdog: asyncio.Future[None] | None = None
        self.app.on_shutdown.append(self._watch)  # after close_sockets: every socket was told to close
        return HousefulRunner(self.app, **{**kwargs, "handler_cancellation": False,
                                           "shutdown_timeout": SHUTDOWN_SECONDS})

    async def _watch(self, _app: Any) -> None:
        self._watchdog = asyncio.ensure_future(_stacks_after(SHUTDOWN_SECONDS - 0.5, self._stuck))

    async def close(self) -> None:
        """Stop the server; a handler it had to cancel fails the test, with every task's stack.

        Every socket is closed on shutdown within seconds (server/ws/handlers.py) and its handler
        then ends, so a handler still running at the deadline waits for something that will never
        come: a bug to see, not a teardown to wait out.
        """
        try:
            await super().close()
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
        if self._stuck:
            pytest.fail("the server's shutdown had to cancel a stuck handler; the tasks then:\n" + self._stuck[0])


async def _stacks_after(seconds: float, into: list[str]) -> None:
    """After `seconds`, every task's stack, into `into`."""
    await asyncio.sleep(seconds)
    out = io.StringIO()
    for task in asyncio.all_tasks():
        task.print_stack(limit=12, file=out)
    into.append(out.getvalue())


@pytest.fixture
def make_client(aiohttp_client: Any, settings: Settings, clock: ShiftedClock) -> Callable[..., Awaitable[Any]]:
    """Start a real server (on the test's clock) on a free port with setting overrides; returns a TestClient."""

    async def make(**overrides: dict[str, Any]) -> Any:
        app = create_app(settings.replace(**overrides) if overrides else settings, clock)
        return await aiohttp_client(ServedLikeProduction(app))

    return make


@pytest.fixture
async def client(make_client: Callable[..., Awaitable[Any]]) -> Any:
    """A TestClient of the app with the run's settings."""
    return await make_client()


@pytest.fixture
def make_user(
    pg: asyncpg.Connection, settings: Settings, clock: ShiftedClock
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Insert a user directly and mint its access token (on the test's clock): {id, email, role, token, headers}."""
    counter = {"n": 0}

    async def make(role: str = "customer", email: str | None = None) -> dict[str, Any]:
        counter["n"] += 1
        email = email or f"{role}{counter['n']}-{secrets.token_hex(3)}@example.test"
        user_id = await pg.fetchval(
            "INSERT INTO app_user (email, name, password_hash, role) VALUES ($1, $2, 'x', $3) RETURNING id",
            email, f"Test {role.title()} {counter['n']}", role,
        )
        token, _ = issue_access(user_id, role, settings.auth.jwt_secret, settings.auth.access_token_seconds,
                                now=clock.time())
        return {"id": user_id, "email": email, "role": role, "token": token,
                "headers": {"Authorization": f"Bearer {token}"}}

    return make


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free port; point the app at it with mail=smtp.settings()."""
    sink = SmtpSink()
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
async def mail_client(make_client: Callable[..., Awaitable[Any]], smtp: SmtpSink) -> Any:
    """The app with its in-node job worker on, sending email to the `smtp` server."""
    return await make_client(jobs={"worker_in_node": True, "poll_seconds": 0.2}, mail=smtp.settings(),
                             messages={"site_url": "https://tickets.example.test"})


@pytest.fixture
def make_screening(pg: asyncpg.Connection, clock: ShiftedClock) -> Callable[..., Awaitable[dict[str, Any]]]:
    """tests.factories.make_screening bound to the run's database and the test's clock."""
    from tests.factories import make_screening as build

    async def make(**kwargs: Any) -> dict[str, Any]:
        return await build(pg, now=clock.now(), **kwargs)

    return make


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    """A redis-server of the test's own (killed, flushed or filled at will), stopped by its pid afterwards."""
    folder = temp_folder()
    server = PrivateRedis(folder)
    try:
        await server.start()
        yield server
    finally:
        server.stop()
        remove(folder)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalRedisCluster]:
    """A Redis Cluster of the run's own (3 primaries, 3 replicas, free ports), started once when a
    test first asks for it and stopped by its pids at the end (tests/test_redis_cluster.py)."""
    with local_redis_cluster() as cluster:
        yield cluster
