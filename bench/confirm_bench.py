"""Checkout benchmark: confirmed orders/s end to end, the confirm transaction alone, and pgbench.

One run, one private database (bench.harness.bench_env), CLIENTS concurrent clients throughout:
  1. end to end: hold 2 seats (HoldStore, as the room does) -> POST /api/orders -> POST the
     sandbox page's card form -> signed webhook over HTTP -> tickets -> capture -> mark_sold;
     a client waits until its seats are announced sold on the screening's channel (as its room
     would show), then starts the next (paid and captured orders are counted in SQL afterwards).
     The app runs in this process (aiohttp on 127.0.0.1), so the load shares its event loop.
  2. the confirm transaction alone: server.checkout.confirm.commit_tickets on authorised orders
     (lock the order, check the screening, insert 2 tickets, mark paid, order_event row).
  3. `pgbench -M prepared` with the same statements in one transaction, same client count.
Prints the markdown of the "Checkout" section; run alone it also rewrites that section of
bench/RESULTS.md (`make bench` collects the printed section itself).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiohttp import web

from bench import harness
from server import keys
from server.app import create_app
from server.checkout import confirm
from server.config import ROOT
from server.domain.tokens import issue_access
from server.keyspace import KeySpace

RESULTS = ROOT / "bench" / "RESULTS.md"
SEATS_PER_ORDER = 2


async def _catalog(conn: asyncpg.Connection, seats: int, tag: str, per_row: int = 50) -> tuple[int, list[int]]:
    """An auditorium of `seats` standard seats and a screening tomorrow; returns (screening, seat ids)."""
    cinema = await conn.fetchval("INSERT INTO cinema (name, city, latitude, longitude, time_zone)"
                                 " VALUES ($1, 'Bench', 51.5, 0, 'Europe/London') RETURNING id", f"Bench {tag}")
    aud = await conn.fetchval("INSERT INTO auditorium (cinema_id, name) VALUES ($1, 'Screen 1') RETURNING id", cinema)
    await conn.execute(
        "INSERT INTO seat (auditorium_id, row_label, number, x, y)"
        " SELECT $1, 'R' || (g / $3), g % $3 + 1, g % $3, g / $3 FROM generate_series(0, $2 - 1) g",
        aud, seats, per_row)
    movie = await conn.fetchval("INSERT INTO movie (title, runtime_minutes) VALUES ('Bench', 100) RETURNING id")
    screening = await conn.fetchval(
        "INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices, orphan_rule)"
        " VALUES ($1, $2, now() + interval '1 day', now() + interval '1 day 2 hours', '{\"standard\": 1000}', false)"
        " RETURNING id", aud, movie)
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM seat WHERE auditorium_id = $1 ORDER BY id", aud)]
    return screening, ids


async def _users(conn: asyncpg.Connection, count: int) -> list[int]:
    return [r["id"] for r in await conn.fetch(
        "INSERT INTO app_user (email, name, password_hash) SELECT 'bench' || g || '@bench.example', 'Bench', 'x'"
        " FROM generate_series(1, $1) g RETURNING id", count)]


async def _authorised_orders(conn: asyncpg.Connection, user: int, screening: int, seats: list[int],
                             count: int, offset: int) -> list[int]:
    """`count` authorised orders of 2 seats each (seats offset.. in pairs), as a webhook would leave them."""
    return [r["id"] for r in await conn.fetch(
        "INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids, prices,"
        " idempotency_key, expires_at, authorised, payment_ref)"
        " SELECT upper(lpad(to_hex($5 + g), 10, '0')), $1, $2, 'authorised', 2000, 'GBP',"
        " ($3::bigint[])[$4 + 2 * g + 1 : $4 + 2 * g + 2], '{1000,1000}', 'bench-' || ($5 + g),"
        " now() + interval '1 hour', true, 'bench-' || ($5 + g)"
        " FROM generate_series(0, $6 - 1) g ORDER BY g RETURNING id", user, screening, seats, offset,
        offset // 2, count)]


async def _sold_events(app: web.Application, screening: int, waiting: dict[int, asyncio.Future[None]]) -> None:
    """Resolve a client's future when its seat is announced sold (what its browser's room would show)."""
    channel = KeySpace(app[keys.SETTINGS].redis.key_prefix).channel(screening)
    async with app[keys.REDIS].pubsub() as pubsub:
        await pubsub.ssubscribe(channel)
        async for message in pubsub.listen():
            if message["type"] != "smessage":
                continue
            event = orjson.loads(message["data"])
            if event["type"] == "sold":
                for seat in event["seats"]:
                    future = waiting.pop(int(seat), None)
                    if future is not None and not future.done():
                        future.set_result(None)


async def end_to_end(app: web.Application, base: str, users: list[int], screening: int, seats: list[int],
                     orders: int) -> dict[str, Any]:
    """Closed loop, one client per user: hold -> order -> pay -> seats announced sold."""
    secret, holds = app[keys.JWT_SECRET], app[keys.HOLDS]
    queue: asyncio.Queue[list[int]] = asyncio.Queue()
    for i in range(0, SEATS_PER_ORDER * orders, SEATS_PER_ORDER):
        queue.put_nowait(seats[i:i + SEATS_PER_ORDER])
    hist = harness.histogram()
    waiting: dict[int, asyncio.Future[None]] = {}

    async def client(session: aiohttp.ClientSession, user: int) -> None:
        headers = {"Authorization": "Bearer " + issue_access(user, "customer", secret, 3600,
                                                               now=app[keys.CLOCK].time())[0]}
        while not queue.empty():
            pair = queue.get_nowait()
            started = time.perf_counter()
            await holds.hold(screening, f"u{user}", pair)
            async with session.post(f"{base}/api/orders", json={"screening_id": screening, "seat_ids": pair},
                                    headers={**headers, "Idempotency-Key": secrets.token_hex(8)}) as resp:
                order = await resp.json()
            sold = waiting[pair[0]] = asyncio.get_running_loop().create_future()
            async with session.post(base + order["payment_url"], data={"card": "4242424242424242"},
                                    allow_redirects=False) as resp:
                assert resp.status == 303, resp.status
            await asyncio.wait_for(sold, 60)  # mark_sold is the last step: the order is confirmed
            hist.record_value(max(1, int((time.perf_counter() - started) * 1e6)))

    listener = asyncio.create_task(_sold_events(app, screening, waiting))
    await asyncio.sleep(0.2)  # subscribed before the first sale
    started = time.perf_counter()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await asyncio.gather(*(client(session, u) for u in users))
    finally:
        listener.cancel()
    elapsed = time.perf_counter() - started
    paid = await app[keys.DB].fetchval(
        "SELECT count(*) FROM orders WHERE screening_id = $1 AND status = 'paid' AND captured", screening)
    return {"orders": orders, "failed": orders - paid, "seconds": elapsed, "per_s": orders / elapsed,
            "latency": harness.percentiles_ms(hist)}


async def confirm_alone(app: web.Application, order_ids: list[int], clients: int) -> dict[str, Any]:
    """commit_tickets on each order, `clients` at a time."""
    co = app[keys.CHECKOUT]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for order_id in order_ids:
        queue.put_nowait(order_id)

    async def worker() -> None:
        while not queue.empty():
            assert await confirm.commit_tickets(co, queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"transactions": len(order_ids), "seconds": elapsed, "per_s": len(order_ids) / elapsed}


def _pgbench_script(first_order: int, screening: int) -> str:
    """The confirm transaction's statements (sql/queries/checkout.sql), one order per transaction."""
    return f"""SELECT id AS oid, seat_ids[1] AS s1, seat_ids[2] AS s2 FROM orders
  WHERE id = (SELECT {first_order - 1} + nextval('bench_confirm_seq')) \\gset
BEGIN;
SELECT * FROM orders WHERE id = :oid FOR UPDATE;
SELECT id, status, starts_at, prices FROM screening WHERE id = {screening};
INSERT INTO ticket (order_id, screening_id, seat_id, price)
  SELECT :oid, {screening}, seat, price FROM unnest(ARRAY[:s1, :s2]::bigint[], '{{1000,1000}}'::integer[]) AS t (seat, price);
UPDATE orders SET status = 'paid', failure_reason = coalesce(NULL, failure_reason), seats_pending = true,
  updated_at = now() WHERE id = :oid RETURNING *;
INSERT INTO order_event (order_id, from_status, to_status, actor_id, reason)
  VALUES (:oid, 'authorised', 'paid', NULL, 'tickets issued');
END;
"""


def pgbench(url: str, script: str, clients: int, per_client: int) -> dict[str, Any]:
    """Run pgbench -M prepared on the script; tps excluding connection time."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        proc = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 4)),
                               "-t", str(per_client), "-f", path, url], capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed: {proc.stderr[-1500:]}")
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", proc.stdout).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", proc.stdout)
    return {"transactions": clients * per_client, "per_s": tps, "latency_ms": float(latency.group(1)) if latency else None}


async def run(clients: int, e2e_orders: int, confirms: int) -> dict[str, Any]:
    """All three measurements in one private database."""
    async with harness.bench_env(database={"pool_max": clients + 4, "pool_min": 2}) as env:
        conn = await asyncpg.connect(env.settings.database.url)
        try:
            e2e_screening, e2e_seats = await _catalog(conn, SEATS_PER_ORDER * e2e_orders, "e2e")
            big_screening, big_seats = await _catalog(conn, SEATS_PER_ORDER * 2 * confirms, "confirm", per_row=999)
            users = await _users(conn, clients)
            alone = await _authorised_orders(conn, users[0], big_screening, big_seats, confirms, 0)
            pgb = await _authorised_orders(conn, users[0], big_screening, big_seats, confirms, 2 * confirms)
            await conn.execute("CREATE SEQUENCE bench_confirm_seq")
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        app = create_app(env.settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = harness.free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            e2e = await end_to_end(app, f"http://127.0.0.1:{port}", users, e2e_screening, e2e_seats, e2e_orders)
            txn = await confirm_alone(app, alone, clients)
        finally:
            await runner.cleanup()
        per_client = confirms // clients
        bench = await asyncio.to_thread(pgbench, env.settings.database.url, _pgbench_script(pgb[0], big_screening),
                                        clients, per_client)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return {"clients": clients, "e2e": e2e, "confirm": txn, "pgbench": bench, "load": load}


def markdown(r: dict[str, Any]) -> str:
    """The Checkout section's body."""
    e2e, txn, pgb = r["e2e"], r["confirm"], r["pgbench"]
    lat = e2e["latency"]
    ratio = 100 * txn["per_s"] / pgb["per_s"] if pgb["per_s"] else 0
    return "\n".join([
        f"`python -m bench.confirm_bench` ({r['clients']} concurrent clients in every row, one run, one private "
        "database; 2 seats per order).", "",
        "| measure | per second | vs pgbench | notes |", "| --- | --- | --- | --- |",
        f"| confirmed orders, end to end | {e2e['per_s']:.0f} | {100 * e2e['per_s'] / pgb['per_s']:.0f} % | "
        f"{e2e['orders']} orders, {e2e['failed']} not paid; hold → POST /api/orders → card form → signed "
        f"webhook over HTTP → tickets → capture → mark_sold (the \"sold\" event); "
        f"latency p50 {lat.get('p50', 0):.1f} ms, "
        f"p99 {lat.get('p99', 0):.1f} ms |",
        f"| confirm transaction alone (`commit_tickets`) | {txn['per_s']:.0f} | {ratio:.0f} % | "
        f"{txn['transactions']} transactions through asyncpg's prepared-statement cache |",
        f"| pgbench -M prepared, same statements | {pgb['per_s']:.0f} | 100 % | {pgb['transactions']} "
        f"transactions, latency average {pgb['latency_ms']} ms |",
        "",
        "The end-to-end figure runs the app and the load in one Python process (one event loop), "
        "so it measures the whole checkout path's CPU cost per order rather than PostgreSQL. "
        f"Load average when the run ended: {r['load']}.",
    ])


def write_section(body: str) -> None:
    """Replace (or add) the "## Checkout" section of bench/RESULTS.md, leaving other sections alone."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"## Checkout\n\n{body}\n"
    match = re.search(r"^## Checkout\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    text = text[:match.start()] + section + ("\n" + text[match.end():] if match.end() < len(text) else "") \
        if match else text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> int:
    """Run, print the section; write it into RESULTS.md unless `make bench` is collecting it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--orders", type=int, default=1000, help="end-to-end orders")
    parser.add_argument("--confirms", type=int, default=8000, help="confirm transactions (and pgbench's)")
    args = parser.parse_args()
    import uvloop

    result = uvloop.run(run(args.clients, args.orders, args.confirms - args.confirms % args.clients))
    body = markdown(result)
    print(body)
    if not os.environ.get("HOUSEFUL_BENCH_CALLED_BY_RUN"):
        write_section(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
