"""Start a Houseful server for a benchmark with its open-file limit raised: python -m bench.launch ARGS...

The same as `python run.py ARGS...`, after setrlimit(RLIMIT_NOFILE) to the hard limit so one
worker can hold 10,000 sockets (run.py itself keeps the system default).

HOUSEFUL_BENCH_TRACEMALLOC=<path>: trace allocations (tracemalloc, 8 frames), and on each SIGUSR1
dump a snapshot to <path>.<n> (n = 1, 2, ...): the memory probe of bench/waiting_room_bench.py.
HOUSEFUL_BENCH_GCLOG=<path>: append one line per garbage collection that took over 20 ms
(generation, milliseconds, objects collected): does a pause in a run come from the collector?
"""
from __future__ import annotations

import gc
import os
import resource
import signal
import sys
import time
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


def _gc_log(path: str) -> None:
    """Log every collection over 20 ms to `path` (line-buffered, so a killed server keeps its lines)."""
    out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process
    started = [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        if ms > 20:
            out.write(f"{time.time():.3f} gen={info['generation']} ms={ms:.1f} collected={info['collected']}\n")

    gc.callbacks.append(timed)


def main() -> int:
    """Raise the limit, then hand over to the real CLI."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if os.environ.get("HOUSEFUL_BENCH_GCLOG"):
        _gc_log(os.environ["HOUSEFUL_BENCH_GCLOG"])
    if os.environ.get("HOUSEFUL_BENCH_TRACEMALLOC"):
        _trace(os.environ["HOUSEFUL_BENCH_TRACEMALLOC"])
    from server.cli import main as serve

    return serve(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
