"""run.py's commands: serve, migrate, create-admin, demo-data."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import multiprocessing
import os
import signal
import sys

from server.clock import Clock, from_environment
from server.config import ConfigError, Settings, load_settings

log = logging.getLogger("houseful")
LISTEN_BACKLOG = 4096  # pending connections the listening socket queues (see _serve_worker)


async def prepare(settings: Settings, demo: bool, clock: Clock) -> None:
    """Create the database if needed, migrate, make sure an admin exists, load demo data if empty."""
    from server import db
    from server.domain import accounts

    if await db.ensure_database(settings.database.url):
        log.info("created database %s", db.database_name(settings.database.url))
    await db.migrate(settings.database.url)
    pool = await db.create_pool(settings)
    try:
        await accounts.ensure_first_admin(pool, settings)
        if demo:
            from server import demo as demo_data

            if await demo_data.load_if_empty(pool, clock):
                log.info("loaded demo data")
    finally:
        await pool.close()


async def _serve_worker(settings: Settings, clock: Clock) -> None:
    from aiohttp import web

    from server.app import create_app

    runner = web.AppRunner(create_app(settings, clock), access_log=None, shutdown_timeout=5)
    await runner.setup()
    # reuse_port lets several worker processes share one listening port (the kernel balances).
    # A deep accept queue: aiohttp's default of 128 drops the SYNs of a rush (thousands of sockets
    # within seconds), and a dropped SYN is retried only after 1, 3, 7... s. The kernel caps it at
    # net.core.somaxconn.
    site = web.TCPSite(runner, settings.server.host, settings.server.port, reuse_port=True, backlog=LISTEN_BACKLOG)
    await site.start()
    log.info("worker %d serving on http://%s:%s", os.getpid(), settings.server.host, settings.server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _serve(settings: Settings, demo: bool, workers: int, clock: Clock) -> None:
    """Prepare once, then run `workers` processes on the same port (the parent supervises)."""
    _run(prepare(settings, demo, clock))
    if workers == 1:
        _run(_serve_worker(settings, clock))
        return
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker_main, args=(settings, clock), daemon=False) for _ in range(workers)]
    for proc in procs:
        proc.start()

    def forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.is_alive() and proc.pid:
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for proc in procs:
        proc.join()


def _worker_main(settings: Settings, clock: Clock) -> None:
    logging.basicConfig(level=settings.server.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _run(_serve_worker(settings, clock))


def _run(coro: object) -> None:
    import uvloop

    try:
        uvloop.run(coro)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pass


async def _create_admin(settings: Settings, email: str, name: str, password: str) -> None:
    from server import db
    from server.domain import accounts

    await db.ensure_database(settings.database.url)
    await db.migrate(settings.database.url)
    pool = await db.create_pool(settings)
    try:
        await accounts.create_admin(pool, settings, email=email, name=name, password=password)
    finally:
        await pool.close()


async def _demo(settings: Settings, clock: Clock) -> None:
    from server import db, demo

    await db.ensure_database(settings.database.url)
    await db.migrate(settings.database.url)
    pool = await db.create_pool(settings)
    try:
        loaded = await demo.load_if_empty(pool, clock)
        print("demo data loaded" if loaded else "database already has a catalog; nothing loaded")
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point: python run.py COMMAND [--config config.yaml]."""
    parser = argparse.ArgumentParser(prog="run.py", description="Houseful seat-selection server")
    parser.add_argument("--config", default=None, help="path to config.yaml (default: the repo's)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate and serve HTTP and WebSocket")
    serve.add_argument("--demo", action="store_true", help="load demo data when the catalog is empty")
    serve.add_argument("--port", type=int, default=None, help="override server.port")
    serve.add_argument("--workers", type=int, default=1, help="worker processes sharing the port (one per core)")
    sub.add_parser("migrate", help="create the database if needed and apply migrations")
    admin = sub.add_parser("create-admin", help="create an admin (or promote an existing user)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    sub.add_parser("demo-data", help="load the demo catalog into an empty database")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.server.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        if args.port is not None:
            settings = settings.replace(server={"port": args.port})
        if not 1 <= args.workers <= 64:
            parser.error("--workers must be between 1 and 64")
        _serve(settings, args.demo, args.workers, from_environment())
    elif args.command == "migrate":
        from server import db

        async def migrate() -> None:
            await db.ensure_database(settings.database.url)
            print("applied:", ", ".join(await db.migrate(settings.database.url)) or "nothing (up to date)")

        _run(migrate())
    elif args.command == "create-admin":
        from server.errors import DomainError

        password = os.environ.get("HOUSEFUL_ADMIN_PASSWORD") or getpass.getpass("password: ")
        try:
            _run(_create_admin(settings, args.email, args.name, password))
        except DomainError as exc:
            print(f"create-admin: {exc.message}", file=sys.stderr)
            return 2
        print(f"admin {args.email} is ready")
    elif args.command == "demo-data":
        _run(_demo(settings, from_environment()))
    return 0
