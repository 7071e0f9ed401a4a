"""run.py's commands: serve, worker, migrate, create-admin, demo-data, backup, restore."""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import subprocess
import sys

from server.clock import Clock, from_environment
from server.config import ROOT, ConfigError, Settings, load_settings

log = logging.getLogger("houseful")


async def _demo_history(settings: Settings, clock: Clock) -> None:
    from server import db, demo_history

    pool = await db.create_pool(settings)
    try:
        sold = await demo_history.load(pool, clock, settings.checkout.currency)
        await demo_history.fit_forecast(pool, clock)
        print(f"sales history loaded: {sold} tickets" if sold else "the sales history is there already")
    finally:
        await pool.close()


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
                from server import demo_history

                log.info("loaded a simulated sales history: %d tickets", await demo_history.load(pool, clock))
                await demo_history.fit_forecast(pool, clock)
    finally:
        await pool.close()


def _serve(settings: Settings, demo: bool, workers: int, clock: Clock) -> int:
    """Bind the port (a busy one is a clear error), prepare once, then serve with `workers` processes."""
    from server import serve

    try:
        socks = serve.listen(settings.server.host, settings.server.port, workers)
    except serve.PortBusy as exc:
        return serve.fail(str(exc))
    catcher = _start_catcher(settings) if demo and settings.mail.demo_catcher else None
    try:
        _run(prepare(settings, demo, clock))
        return serve.serve(settings, clock, socks)
    finally:
        for sock in socks:
            sock.close()
        if catcher is not None and catcher.poll() is None:
            catcher.terminate()
            catcher.wait(10)


def _start_catcher(settings: Settings) -> subprocess.Popen[bytes] | None:
    """The demo's mail catcher on a loopback mail.smtp_host:port where nothing listens yet (else None)."""
    import socket

    from server.messaging.mailbox import mailbox_dir

    host, port = settings.mail.smtp_host, settings.mail.smtp_port
    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    try:
        socket.create_connection((host, port), timeout=1).close()
        log.info("mail goes to the SMTP server already listening on %s:%d", host, port)
        return None
    except OSError:
        pass
    folder = mailbox_dir(settings)
    proc = subprocess.Popen([sys.executable, "-m", "server.messaging.mailbox", "--host", host, "--port", str(port),
                             "--dir", str(folder)], cwd=ROOT)
    log.info("demo mail catcher on %s:%d: read what the demo sends at /staff/mailbox (kept in %s)", host, port, folder)
    return proc


def _run(coro: object) -> None:
    from server.serve import run

    run(coro)


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


async def _worker(settings: Settings, clock: Clock) -> None:
    """A job worker on its own (any number, on any machine) until SIGTERM or SIGINT."""
    import asyncio
    import signal

    from server import db
    from server.config import jwt_secret
    from server.messaging.jobs import keep_working
    from server.messaging.sender import open_messenger
    from server.queries import load_queries

    await db.ensure_database(settings.database.url)
    await db.migrate(settings.database.url)
    pool = await db.create_pool(settings)
    try:
        async with open_messenger(settings, pool, load_queries(), clock, jwt_secret(settings)) as messenger:
            worker = asyncio.create_task(keep_working(messenger), name="jobs-worker")
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            log.info("job worker %d running", os.getpid())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([worker, stopping], return_when=asyncio.FIRST_COMPLETED)
            for task in (worker, stopping):
                task.cancel()  # procrastinate stops gracefully: running sends finish first
            await asyncio.gather(worker, stopping, return_exceptions=True)
    finally:
        await pool.close()


def _backup(settings: Settings, output: str | None) -> int:
    from pathlib import Path

    from server import backup

    try:
        target = Path(output) if output else backup.default_path(settings, from_environment().now())
        print(f"backup written to {backup.backup(settings, target)}")
    except (backup.BackupError, ValueError) as exc:
        print(f"run.py backup: {exc}", file=sys.stderr)
        return 2
    return 0


def _restore(settings: Settings, source: str) -> int:
    from pathlib import Path

    from server import backup

    try:
        _run(backup.restore(settings, Path(source)))
    except backup.BackupError as exc:
        print(f"run.py restore: {exc}", file=sys.stderr)
        return 2
    print(f"restored {source}; live state in Redis is rebuilt from PostgreSQL as screenings are opened")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: python run.py COMMAND [--config config.yaml]."""
    parser = argparse.ArgumentParser(prog="run.py", description="Houseful seat-selection server")
    parser.add_argument("--config", default=None, help="path to config.yaml (default: the repo's)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate and serve HTTP and WebSocket")
    serve.add_argument("--demo", action="store_true", help="load demo data when the catalog is empty")
    serve.add_argument("--port", type=int, default=None, help="override server.port")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes on the port (one per core); the parent restarts any that dies")
    sub.add_parser("worker", help="run a job worker (sends emails and push notifications; docs/messages.md)")
    sub.add_parser("migrate", help="create the database if needed and apply migrations")
    admin = sub.add_parser("create-admin", help="create an admin (or promote an existing user)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    sub.add_parser("demo-data", help="load the demo catalog into an empty database")
    sub.add_parser("demo-history", help="add the simulated sales history of the last weeks to the demo (once)")
    dump = sub.add_parser("backup", help="dump the database (pg_dump custom format; docs/operations.md)")
    dump.add_argument("--output", default=None, help="file to write (default: .data/backups/<db>-<time>.dump)")
    load = sub.add_parser("restore", help="restore a backup into an empty database and reset Redis state")
    load.add_argument("file", help="a file written by run.py backup")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    from server.logs import setup_logging

    setup_logging(settings)
    if args.command == "serve":
        if args.port is not None:
            settings = settings.replace(server={"port": args.port})
        if not 1 <= args.workers <= 64:
            parser.error("--workers must be between 1 and 64")
        try:
            clock = from_environment()
        except ValueError as exc:
            print(f"run.py serve: {exc}", file=sys.stderr)
            return 2
        return _serve(settings, args.demo, args.workers, clock)
    elif args.command == "worker":
        try:
            clock = from_environment()
        except ValueError as exc:
            print(f"run.py worker: {exc}", file=sys.stderr)
            return 2
        _run(_worker(settings, clock))
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
    elif args.command == "demo-history":
        _run(_demo_history(settings, from_environment()))
    elif args.command == "backup":
        return _backup(settings, args.output)
    elif args.command == "restore":
        return _restore(settings, args.file)
    return 0
