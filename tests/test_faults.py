"""Store faults against real processes: a private Redis killed with -9 and restarted empty, and a
private PostgreSQL stopped and started again, each in the middle of a burst of holds, checkouts and
cancellations driven by the load tool against a real `run.py serve`.

While a store is out every endpoint answers 503 `unavailable` with Retry-After (never 500); the
server recovers by itself once the store is back; afterwards the load tool's checker finds every
invariant intact: no seat sold twice, no order stuck, every authorised payment captured with
tickets or voided, every cancelled paid order refunded. Figures go to tests/artifacts/faults-*.json.
"""
from __future__ import annotations

import asyncio
import io
import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import asyncpg
import orjson
import pytest

from loadtest import invariants
from loadtest.runner import run
from loadtest.scenarios import Options
from server.checkout import payments
from server.domain.tokens import issue_access
from tests.support.stores import HousefulServer, PrivatePostgres, PrivateRedis, remove, temp_folder

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Short holds and a fast reconciler, so every order of the burst is finished within the test.
FAST = {
    "HOUSEFUL_AUTH_REGISTRATIONS_PER_HOUR": "10000000", "HOUSEFUL_AUTH_ARGON2_MEMORY_KIB": "256",
    "HOUSEFUL_AUTH_ARGON2_ROUNDS": "1", "HOUSEFUL_HOLDS_TTL_SECONDS": "6", "HOUSEFUL_HOLDS_MAX_TOTAL_SECONDS": "12",
    "HOUSEFUL_CHECKOUT_RECONCILE_INTERVAL_SECONDS": "1", "HOUSEFUL_CHECKOUT_RECONCILE_GRACE_SECONDS": "2",
    "HOUSEFUL_CHECKOUT_WEBHOOK_RETRY_SECONDS": "0.2", "HOUSEFUL_DATABASE_COMMAND_TIMEOUT": "5",
}
ORDERS_BEFORE_FAULT = 3  # the fault lands once this many orders exist: mid-checkout
OUTAGE_SECONDS = 1.5  # how long the store stays down (besides the probes' own time)
STUCK_SECONDS = 10.0  # > holds ttl + reconcile interval + grace: anything older is stuck


@pytest.fixture
async def deployment(request: pytest.FixtureRequest) -> AsyncIterator[SimpleNamespace]:
    """Private PostgreSQL + Redis and a real server on them; everything stopped by pid afterwards."""
    folder = temp_folder()
    pg, redis = PrivatePostgres(folder), PrivateRedis(folder)
    server = HousefulServer(folder, pg.url, redis.url, **FAST)
    try:
        pg.init()
        pg.start()
        await redis.start()
        await server.start()
        yield SimpleNamespace(pg=pg, redis=redis, server=server)
    finally:
        server.stop()
        redis.stop()
        pg.stop("immediate")
        ARTIFACTS.mkdir(exist_ok=True)
        if server.log.exists():  # kept for reading after the run (tests/artifacts is git-ignored)
            shutil.copy(server.log, ARTIFACTS / f"{request.node.name}-server.log")
        remove(folder)


def _burst(d: SimpleNamespace) -> Options:
    """A soak: 24 customers hold, buy (some then cancel) or release, again and again for 14 s."""
    return Options(
        scenario="soak", target=d.server.base, clients=24, arrival_s=1.0, duration_s=14.0, seats=2,
        checkout_fraction=0.7, cancel_fraction=0.4, think_ms=50, rows=10, per_row=10, seed=3,
        admin_email=d.server.admin_email, admin_password=d.server.admin_password, check=False,
        json_path=None, html_path=None, live=False)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> float:
    """Poll a condition (a fault's observable effect); returns how long it took."""
    start = time.monotonic()
    while not await check():
        assert time.monotonic() - start < seconds, "condition not reached in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def _probe(d: SimpleNamespace, token: str, order_key: str, screening_id: int) -> dict[str, Any]:
    """What a user, a browser and the payment provider get while a store is out."""
    body = orjson.dumps({"id": "evt_probe", "type": "payment.authorised", "created": int(time.time()),
                         "data": {"payment_id": "sbx_" + "0" * 32, "reference": order_key, "amount": 1,
                                  "currency": "GBP", "reason": None}})
    secret = payments.derive_webhook_secret("", d.server.jwt_secret)
    bearer = {"Authorization": f"Bearer {token}"}
    calls = {
        "login": ("POST", "/api/auth/login", {"json": {"email": d.server.admin_email,
                                                        "password": d.server.admin_password}}),
        "create_order": ("POST", "/api/orders", {"json": {"screening_id": screening_id, "seat_ids": [1]},
                                                  "headers": {**bearer, "Idempotency-Key": "probe"}}),
        "order_page": ("GET", f"/api/orders/{order_key}", {"headers": bearer}),
        "catalog": ("GET", f"/api/screenings/{screening_id}", {}),
        "webhook": ("POST", "/api/payments/webhook", {"data": body, "headers": {
            "Content-Type": "application/json",
            payments.SIGNATURE_HEADER: payments.sign(secret, int(time.time()), body)}}),
        "health": ("GET", "/api/health", {}),
    }
    out = {}
    async with aiohttp.ClientSession() as http:
        for name, (method, path, kwargs) in calls.items():
            async with http.request(method, d.server.base + path, **kwargs) as resp:
                data = await resp.json(content_type=None)
                out[name] = {"status": resp.status, "code": (data.get("error") or {}).get("code"),
                             "retry_after": resp.headers.get("Retry-After")}
    return out


async def _faulted_burst(d: SimpleNamespace, fault: Callable[[], None], restore: Callable[[], Awaitable[None]],
                         name: str) -> dict[str, Any]:
    """Run the burst; mid-way take the store out, probe, bring it back; check every invariant after."""
    conn = await asyncpg.connect(d.pg.url)
    admin_id = await conn.fetchval("SELECT id FROM app_user WHERE role = 'admin'")
    await conn.close()
    # The spawned server runs on the system clock (no testing offset), as the load tool's checker does.
    token, _ = issue_access(admin_id, "admin", d.server.jwt_secret, 900, now=time.time())
    figures: dict[str, Any] = {}

    async def count_orders() -> int:
        c = await asyncpg.connect(d.pg.url)
        try:
            return int(await c.fetchval("SELECT count(*) FROM orders"))
        finally:
            await c.close()

    async def outage() -> None:
        await _until(lambda: _at_least(count_orders, ORDERS_BEFORE_FAULT))
        c = await asyncpg.connect(d.pg.url)
        order_key, sid = await c.fetchrow("SELECT order_key, screening_id FROM orders ORDER BY id LIMIT 1")
        figures["orders_before_fault"] = await c.fetchval("SELECT count(*) FROM orders")
        await c.close()
        await asyncio.to_thread(fault)  # pg_ctl blocks: keep the burst's event loop running
        started = time.monotonic()
        figures["during_outage"] = await _probe(d, token, order_key, sid)
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))  # the outage itself
        figures["outage_s"] = round(time.monotonic() - started, 2)
        await restore()
        figures["restored_at"] = time.time()
        figures["healthy_after_s"] = round(await _until(d.server.healthy), 2)

    task: asyncio.Task[None] | None = None

    def on_start() -> None:
        nonlocal task
        task = asyncio.ensure_future(outage())

    status, summary = await run(_burst(d), io.StringIO(), on_start=on_start)
    assert task is not None
    await asyncio.wait_for(task, 60)
    sid = summary["screening_id"]
    found = await invariants.check(d.pg.url, d.redis.url, "houseful:", [sid], settle_seconds=40,
                                   stuck_seconds=STUCK_SECONDS)
    figures["violations"] = [v.to_dict() for v in found]
    conn = await asyncpg.connect(d.pg.url)
    figures["orders"] = dict(await conn.fetch("SELECT status, count(*) FROM orders GROUP BY status ORDER BY 1"))
    figures["seats_sold"] = await conn.fetchval("SELECT count(*) FROM ticket WHERE status = 'live'")
    figures["payments"] = dict(await conn.fetch("SELECT status, count(*) FROM sandbox_payment GROUP BY 1 ORDER BY 1"))
    # Recovery as a customer sees it: the first order placed after the store came back, paid.
    first_sale = await conn.fetchval(
        "SELECT extract(epoch FROM min(e.created_at))::float8 FROM order_event e JOIN orders o ON o.id = e.order_id"
        " WHERE e.to_status = 'paid' AND o.created_at > to_timestamp($1)", figures["restored_at"])
    figures["first_sale_after_restore_s"] = None if first_sale is None else round(first_sale - figures["restored_at"], 2)
    await conn.close()
    figures["load"] = {k: summary.get(k) for k in ("orders_paid", "sold", "cancelled", "errors", "conflicts")}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"faults-{name}.json").write_text(json.dumps(figures, indent=2, default=str))
    assert found == [], figures["violations"]
    assert figures["first_sale_after_restore_s"] is not None, "nothing was sold after the store came back"
    # Not one 500 during the whole burst, not only to the probes: the server logged no unhandled error.
    crashes = [line for line in d.server.log.read_text().splitlines() if "unhandled error" in line or "crashed" in line]
    assert crashes == [], crashes
    return figures


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n


def _assert_unavailable(answers: dict[str, Any], must: tuple[str, ...]) -> None:
    """No 500 anywhere; each 503 is `unavailable` with a Retry-After; the named calls were 503."""
    for name, answer in answers.items():
        assert answer["status"] != 500, (name, answer)
        if answer["status"] == 503:
            assert answer["code"] == "unavailable" and answer["retry_after"], (name, answer)
    for name in must:
        assert answers[name]["status"] == 503, (name, answers[name])


async def _auth(d: SimpleNamespace, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(d.server.base + path, json=body) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_redis_killed_mid_burst_and_restarted_empty(deployment: SimpleNamespace) -> None:
    d = deployment
    status, session = await _auth(d, "/api/auth/login", {"email": d.server.admin_email,
                                                         "password": d.server.admin_password})
    assert status == 200
    figures = await _faulted_burst(d, d.redis.kill9, d.redis.start, "redis")
    _assert_unavailable(figures["during_outage"], ("login", "create_order", "webhook", "health"))
    # Sessions live in PostgreSQL: the user logged in before the restart is still logged in.
    status, renewed = await _auth(d, "/api/auth/refresh", {"refresh_token": session["refresh_token"]})
    assert status == 200 and renewed["user"]["email"] == d.server.admin_email
    async with aiohttp.ClientSession() as http, http.get(
            d.server.base + "/api/me", headers={"Authorization": f"Bearer {renewed['access_token']}"}) as resp:
        assert resp.status == 200
    # ... and the rotated-out token is still refused (reuse detection survived too).
    status, _ = await _auth(d, "/api/auth/refresh", {"refresh_token": session["refresh_token"]})
    assert status == 401


async def test_postgres_stopped_mid_burst_and_started_again(deployment: SimpleNamespace) -> None:
    d = deployment

    async def start() -> None:
        await asyncio.to_thread(d.pg.start)

    figures = await _faulted_burst(d, d.pg.stop, start, "postgres")
    _assert_unavailable(figures["during_outage"], ("login", "create_order", "order_page", "webhook", "health"))
