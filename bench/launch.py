"""Start a Houseful server for a benchmark with its open-file limit raised: python -m bench.launch ARGS...

The same as `python run.py ARGS...`, after setrlimit(RLIMIT_NOFILE) to the hard limit so one
worker can hold 10,000 sockets (run.py itself keeps the system default).

HOUSEFUL_BENCH_TRACEMALLOC=<path>: trace allocations (tracemalloc, 8 frames), and on each SIGUSR1
dump a snapshot to <path>.<n> (n = 1, 2, ...): the memory probe of bench/waiting_room_bench.py.
"""
from __future__ import annotations

import os
import resource
import signal
import sys
import tracemalloc
from typing import Any


def _trace(path: str) -> None:
    """Start tracemalloc; SIGUSR1 dumps a numbered snapshot next to `path`."""
    tracemalloc.start(8)
    dumped = [0]

    def dump(_signum: int, _frame: Any) -> None:
        dumped[0] += 1
        tracemalloc.take_snapshot().dump(f"{path}.{dumped[0]}")
        with open(f"{path}.{dumped[0]}.done", "w"):
            pass

    signal.signal(signal.SIGUSR1, dump)


def main() -> int:
    """Raise the limit, then hand over to the real CLI."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if os.environ.get("HOUSEFUL_BENCH_TRACEMALLOC"):
        _trace(os.environ["HOUSEFUL_BENCH_TRACEMALLOC"])
    from server.cli import main as serve

    return serve(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
