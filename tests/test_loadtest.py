"""The load tool run for real at a small scale against a real server, and its invariant checker."""
from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable

import asyncpg

from loadtest import invariants
from loadtest.report import LATENCY_LABELS, SUMMARY_KEYS
from loadtest.runner import run
from loadtest.scenarios import Options
from server import keys
from server.checkout.confirm import mark_failed, record_authorisation
from server.config import ROOT, Settings
from tests.support.checkout import DEAD_WEBHOOK, SUCCESS, co_of, new_order

MakeClient = Callable[..., Awaitable[Any]]


def rush_options(client: Any, admin: dict[str, Any], settings: Settings, tmp: Path, **changes: Any) -> Options:
    """A small rush against the test server: 40 seats, the run's own database and prefix."""
    opts = Options(
        scenario="rush", target=str(client.make_url("")).rstrip("/"), clients=50, arrival_s=1.0, seats=2,
        checkout_fraction=0.3, duration_s=40.0, seed=7, processes=1, rows=4, per_row=10, think_ms=50,
        admin_token=admin["token"], database_url=settings.database.url, redis_url=settings.redis.url,
        key_prefix=settings.redis.key_prefix, json_path=str(tmp / "run.json"), html_path=str(tmp / "run.html"),
        live=False,
    )
    for key, value in changes.items():
        setattr(opts, key, value)
    return opts


async def loaded_server(make_client: MakeClient) -> Any:
    """The real app with registration throttling raised, as any load target needs."""
    return await make_client(auth={"registrations_per_hour": 1_000_000})


async def test_rush_runs_and_reports_every_figure(make_client: MakeClient, make_user: Any, settings: Settings,
                                                  pg: asyncpg.Connection, tmp_path: Path) -> None:
    client = await loaded_server(make_client)
    admin = await make_user("admin")
    out = io.StringIO()
    status, summary = await run(rush_options(client, admin, settings, tmp_path), out)

    text = out.getvalue()
    assert status == 0, text
    assert summary["passed"] and summary["invariants"] == {"checked": True, "broken": []}
    for name, label in LATENCY_LABELS.items():
        assert label in text or name.startswith("line_")  # the line's figures: only with --waiting-room
    for figure in ("messages in", "messages out", "conflicts", "errors", "time to houseful", "invariants"):
        assert figure in text
    latency = summary["latency_ms"]
    for name in ("connect", "hold_ack", "broadcast_lag", "checkout", "load_lag"):
        assert latency[name]["count"] > 0
        assert set(latency[name]) >= {"p50", "p90", "p99", "p99.9", "max"}
    # 50 customers wanting 2 of 40 seats: the screening fills, and some of them paid.
    assert summary["seats_held"] == 40
    assert summary["time_to_houseful_s"] is not None
    assert summary["orders_paid"] > 0 and summary["sold"] >= summary["orders_paid"]
    tickets = await pg.fetchval("SELECT count(*) FROM ticket WHERE screening_id = $1 AND status = 'live'",
                                summary["screening_id"])
    assert tickets == summary["sold"]
    assert summary["errors"] == {"total": 0}
    saved = json.loads((tmp_path / "run.json").read_text())
    assert set(SUMMARY_KEYS) <= set(saved)
    assert saved["latency_ms"]["hold_ack"]["p99"] == latency["hold_ack"]["p99"]
    page = (tmp_path / "run.html").read_text()
    assert page.count("<svg") == 5 and "PASSED" in page


async def test_rush_through_the_waiting_room(make_client: MakeClient, make_user: Any, settings: Settings,
                                             tmp_path: Path) -> None:
    client = await make_client(auth={"registrations_per_hour": 1_000_000}, waiting_room={"tick_ms": 100})
    admin = await make_user("admin")
    opts = rush_options(client, admin, settings, tmp_path, clients=30, checkout_fraction=1.0,
                        waiting_room=True, admit_rate=20)
    out = io.StringIO()
    status, summary = await run(opts, out)
    assert status == 0, out.getvalue()
    assert summary["invariants"] == {"checked": True, "broken": []} and summary["errors"] == {"total": 0}
    # Everyone was either admitted or told "sold out"; nobody left hanging, nobody overtaken.
    assert summary["x_line_admitted"] + summary["x_line_told_sold_out"] == 30
    assert summary["x_line_left_hanging"] == 0 and summary["x_line_fairness_inversions"] == 0
    assert summary["latency_ms"]["line_wait"]["count"] == summary["x_line_admitted"] > 0
    assert summary["latency_ms"]["line_age"]["count"] > 0 and summary["holds"] > 0
    assert "time in line" in out.getvalue()


async def test_soak_through_the_waiting_room_queues_again_when_the_window_ends(
    make_client: MakeClient, make_user: Any, settings: Settings, tmp_path: Path,
) -> None:
    # Windows of 10 s in a 13 s soak: customers who were admitted early must come back through the line.
    client = await make_client(auth={"registrations_per_hour": 1_000_000},
                               waiting_room={"tick_ms": 100, "admission_seconds": 10})
    admin = await make_user("admin")
    opts = rush_options(client, admin, settings, tmp_path, scenario="soak", clients=10, arrival_s=1.0,
                        duration_s=13.0, checkout_fraction=0.5, waiting_room=True, admit_rate=5)
    out = io.StringIO()
    status, summary = await run(opts, out)
    assert status == 0, out.getvalue()
    assert summary["invariants"] == {"checked": True, "broken": []} and summary["errors"] == {"total": 0}
    # Every arrival was let in (nobody left hanging), in the order they arrived.
    assert summary["x_line_left_hanging"] == 0 and summary["x_line_fairness_inversions"] == 0
    assert summary["x_line_requeued"] > 0
    assert summary["x_line_admitted"] >= 10 + summary["x_line_requeued"]
    assert summary["latency_ms"]["line_age"]["count"] > 0
    assert summary["holds"] > 0 and summary["orders_paid"] > 0
    assert "position age" in out.getvalue()


async def test_checker_names_a_double_sale_made_behind_the_servers_back(
    make_client: MakeClient, make_user: Any, settings: Settings, pg: asyncpg.Connection, tmp_path: Path,
) -> None:
    client = await loaded_server(make_client)
    admin = await make_user("admin")
    opts = rush_options(client, admin, settings, tmp_path, clients=8, checkout_fraction=1.0)
    status, summary = await run(opts, io.StringIO())
    assert status == 0 and summary["orders_paid"] > 0
    sid = summary["screening_id"]
    sold = await pg.fetchrow("SELECT t.seat_id, o.user_id, t.price FROM ticket t JOIN orders o ON o.id = t.order_id "
                             "WHERE t.screening_id = $1 AND t.status = 'live' LIMIT 1", sid)
    await pg.execute("DROP INDEX ticket_live_seat_uq")
    try:
        order_id = await pg.fetchval(
            "INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids, "
            "idempotency_key, captured, expires_at) VALUES ('DVPE0001', $1, $2, 'paid', $3, 'GBP', $4, 'dupe', "
            "true, now() + interval '1 hour') RETURNING id", sold["user_id"], sid, sold["price"], [sold["seat_id"]])
        await pg.execute("INSERT INTO ticket (order_id, screening_id, seat_id, price) VALUES ($1, $2, $3, $4)",
                         order_id, sid, sold["seat_id"], sold["price"])

        found = await invariants.check(settings.database.url, settings.redis.url, settings.redis.key_prefix, [sid],
                                       settle_seconds=0)
        assert [v.invariant for v in found] == [invariants.SOLD_TWICE]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "loadtest", "check", "--screening", str(sid),
            "--database-url", settings.database.url, "--redis-url", settings.redis.url,
            "--key-prefix", settings.redis.key_prefix, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 1, stderr.decode()
        assert f"BROKEN {invariants.SOLD_TWICE}" in stdout.decode()
        assert f"seat {sold['seat_id']} has 2 live tickets" in stdout.decode()
    finally:
        await pg.execute("DELETE FROM ticket WHERE order_id IN (SELECT id FROM orders WHERE order_key = 'DVPE0001')")
        await pg.execute("DELETE FROM order_event WHERE order_id IN (SELECT id FROM orders WHERE order_key = 'DVPE0001')")
        await pg.execute("DELETE FROM orders WHERE order_key = 'DVPE0001'")
        await pg.execute("CREATE UNIQUE INDEX ticket_live_seat_uq ON ticket (screening_id, seat_id) WHERE status = 'live'")


async def test_checker_names_a_stuck_order_and_money_the_provider_still_holds(
    client: Any, make_user: Any, make_screening: Any, settings: Settings, pg: asyncpg.Connection,
) -> None:
    s = await make_screening(orphan_rule=False)
    sid, co = s["screening_id"], co_of(client)
    made = []
    for seat in ("A1", "A2"):  # two buyers whose cards were authorised; no webhook ever came
        buyer = await make_user()
        created = await new_order(client, buyer, sid, [s["seats"][seat]])
        row = await pg.fetchrow("SELECT id, payment_ref FROM orders WHERE order_key = $1", created["order_key"])
        await client.app[keys.PAYMENTS].submit_card(row["payment_ref"], SUCCESS, DEAD_WEBHOOK)
        await record_authorisation(co, row["id"])
        made.append(row["id"])
    await mark_failed(co, made[1], "seat_taken")  # failed, but its authorisation never voided
    await pg.execute("UPDATE orders SET updated_at = now() - interval '1 hour'")

    found = await invariants.check(settings.database.url, settings.redis.url, settings.redis.key_prefix, [sid],
                                   settle_seconds=0, stuck_seconds=60)
    assert sorted(v.invariant for v in found) == sorted([
        invariants.MONEY_RETURNED, invariants.ORDER_STUCK, invariants.ORDER_STUCK, invariants.PROVIDER])
    assert "is authorised" in next(v.detail for v in found if v.invariant == invariants.ORDER_STUCK)
    assert "payment" in next(v.detail for v in found if v.invariant == invariants.PROVIDER)
