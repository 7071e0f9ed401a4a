"""CLI: python -m loadtest rush|fanout|connections|soak|check [options] (also `houseful-loadtest`).

Exit status: 0 passed; 1 an invariant is broken (named in the output); 2 the run could not
start; 3 the run finished with errors (failed requests, dropped sockets).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys

from loadtest.runner import RunError, is_loopback, run
from loadtest.scenarios import SCENARIOS, Options
from loadtest.setup import SetupError
from server.gc_tuning import tune_for_serving


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="houseful-loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="scenario", required=True)
    for name in (*SCENARIOS, "check"):
        p = sub.add_parser(name, help=_HELP[name])
        _common(p)
        if name != "check":
            _load(p, name)
    return parser


_HELP = {
    "rush": "N customers arrive within T seconds at one screening and fight for its seats",
    "fanout": "a room of N watchers while writers hold/release R times a second",
    "connections": "N idle sockets: how many the server holds and its memory per socket",
    "soak": "steady mixed traffic (browse, hold, release, buy, cancel) for a duration",
    "check": "only check the invariants of a screening (PostgreSQL + Redis)",
}


def _common(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument("--target", default=env("HOUSEFUL_LOADTEST_TARGET", "http://127.0.0.1:8080"),
                   help="base URL of the deployment (default %(default)s)")
    p.add_argument("--screening", type=int, default=None, help="use this screening instead of creating one")
    p.add_argument("--database-url", default=env("HOUSEFUL_LOADTEST_DATABASE_URL"),
                   help="PostgreSQL of the target, for the invariant check (default: the local config's "
                        "when the target is local)")
    p.add_argument("--redis-url", default=env("HOUSEFUL_LOADTEST_REDIS_URL"), help="Redis of the target")
    p.add_argument("--key-prefix", default=env("HOUSEFUL_LOADTEST_KEY_PREFIX"), help="the target's Redis key prefix")


def _load(p: argparse.ArgumentParser, name: str) -> None:
    env = os.environ.get
    defaults = {"rush": (5000, 5.0, 120.0), "fanout": (1000, 5.0, 20.0), "connections": (10000, 20.0, 10.0),
                "soak": (200, 10.0, 300.0)}[name]
    p.add_argument("--clients", type=int, default=defaults[0], help="simulated clients (default %(default)s)")
    p.add_argument("--arrival", type=float, default=defaults[1], help="arrival window, seconds (default %(default)s)")
    p.add_argument("--duration", type=float, default=defaults[2],
                   help="seconds after the arrival window (a rush stops earlier once every client is done; "
                        "default %(default)s)")
    p.add_argument("--seats", type=int, default=2, help="seats each customer wants (default %(default)s)")
    p.add_argument("--checkout-fraction", type=float, default=0.2,
                   help="fraction of customers with seats who go on to pay (default %(default)s)")
    p.add_argument("--cancel-fraction", type=float, default=0.3,
                   help="soak: fraction of buyers who then cancel (refunded)")
    p.add_argument("--rate", type=float, default=20.0, help="fanout: holds+releases per second (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    p.add_argument("--processes", type=int, default=1, help="load processes, each with its own event loop")
    p.add_argument("--think-ms", type=float, default=200.0, help="most a customer looks before holding")
    p.add_argument("--sample", type=int, default=1000,
                   help="per process, clients that parse event frames to measure broadcast lag")
    p.add_argument("--rows", type=int, default=20, help="rows of the created auditorium (default %(default)s)")
    p.add_argument("--per-row", type=int, default=25, help="seats per row of the created auditorium")
    p.add_argument("--users-file", default=None, help="JSON file of test users to reuse (created and extended)")
    p.add_argument("--admin-email", default=env("HOUSEFUL_LOADTEST_ADMIN_EMAIL", env("HOUSEFUL_ADMIN_EMAIL")))
    p.add_argument("--admin-password", default=env("HOUSEFUL_LOADTEST_ADMIN_PASSWORD", env("HOUSEFUL_ADMIN_PASSWORD")))
    p.add_argument("--admin-token", default=env("HOUSEFUL_LOADTEST_ADMIN_TOKEN"), help="an admin's access token")
    p.add_argument("--waiting-room", action="store_true",
                   help="rush, soak: turn the screening's waiting room on; customers queue, then hold "
                        "(soak: and queue again when their admission ends; docs/waiting-room.md)")
    p.add_argument("--admit-rate", type=int, default=0, help="--waiting-room: admissions a second (0 = from capacity)")
    p.add_argument("--max-active", type=int, default=0,
                   help="--waiting-room: most shoppers at once (0 = from capacity; admitted rush clients keep "
                        "their admission until the run ends, so a cap below --clients stops the line)")
    p.add_argument("--release-at-end", action="store_true", help="rush: release unsold holds when the run ends")
    p.add_argument("--no-check", dest="check", action="store_false", help="skip the invariant check")
    p.add_argument("--cleanup", action="store_true", help="delete (or cancel) the screening and catalog it created")
    p.add_argument("--json", default="loadtest-report/summary.json", help="JSON summary file ('' for none)")
    p.add_argument("--html", default="loadtest-report/report.html", help="HTML report file ('' for none)")
    p.add_argument("--server-pid", type=int, default=None, help="connections: a local server pid to read RSS from")
    p.add_argument("--quiet", action="store_true", help="no live view")
    p.add_argument("--allow-remote", action="store_true", help="allow a target that is not this machine")


def _local_defaults(args: argparse.Namespace) -> None:
    """A local target's database, Redis and prefix come from this checkout's config (config.yaml + env)."""
    if args.database_url and args.redis_url and args.key_prefix is not None:
        return
    if not is_loopback(args.target):
        return
    from server.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError:
        return
    args.database_url = args.database_url or settings.database.url
    args.redis_url = args.redis_url or settings.redis.url
    args.key_prefix = settings.redis.key_prefix if args.key_prefix is None else args.key_prefix


def options(args: argparse.Namespace) -> Options:
    """Options from parsed arguments."""
    return Options(
        scenario=args.scenario, target=args.target, clients=args.clients, arrival_s=args.arrival,
        seats=args.seats, checkout_fraction=args.checkout_fraction, duration_s=args.duration, seed=args.seed,
        processes=args.processes, rate=args.rate, cancel_fraction=args.cancel_fraction, think_ms=args.think_ms, sample=args.sample,
        release_at_end=args.release_at_end, screening_id=args.screening, rows=args.rows, per_row=args.per_row,
        users_file=args.users_file, admin_email=args.admin_email, admin_password=args.admin_password,
        admin_token=args.admin_token, database_url=args.database_url, redis_url=args.redis_url,
        key_prefix=args.key_prefix, check=args.check, cleanup=args.cleanup, json_path=args.json or None,
        html_path=args.html or None, server_pid=args.server_pid, live=not args.quiet, allow_remote=args.allow_remote,
        waiting_room=args.waiting_room, admit_rate=args.admit_rate, max_active=args.max_active,
    )


async def _check_only(args: argparse.Namespace) -> int:
    from loadtest import invariants

    if args.screening is None or not args.database_url or not args.redis_url or args.key_prefix is None:
        print("check needs --screening and the target's --database-url, --redis-url, --key-prefix", file=sys.stderr)
        return 2
    found = await invariants.check(args.database_url, args.redis_url, args.key_prefix, [args.screening])
    print(invariants.describe(found))
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m loadtest` and `houseful-loadtest`."""
    args = _parser().parse_args(argv)
    _local_defaults(args)
    if args.scenario == "check":
        return asyncio.run(_check_only(args))
    try:
        import uvloop

        tune_for_serving()  # the clients of a one-process run live here: a worker's collector settings
        status, _ = uvloop.run(run(options(args)))
    except (RunError, SetupError) as exc:
        print(f"houseful-loadtest: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
