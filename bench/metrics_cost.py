"""What the metrics add to one hold, measured alone: python -m bench.metrics_cost

A hold through the server observes the command counter and latency (server/ws/core.py); issue 14
adds one Redis round-trip observation per pipeline of scripts (server/live/batch.py) and one
fan-out-lag observation per room frame (server/live/rooms.py). At most one of each per hold (a
quiet room: every hold its own pipeline and its own frame); in a rush one pipeline and one frame
carry hundreds of holds, so the share per hold falls to a fraction of that. This times those calls in prometheus-client's multiprocess
mode (what `run.py serve --workers N` uses: every sample goes to an mmap'ed file) and in
single-process mode, in a fresh interpreter each, so the per-hold cost can be set beside
bench/burst_bench.py's server CPU per hold. The burst itself is too noisy on a shared machine to
show a difference of this size; this figure bounds it. Since issue 13's third pass the command
counter and latency are tallied in process memory (server/metrics.py, CommandTally) and written
to the shared values once a second: the "tallied" column is what a hold costs now.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from server.config import ROOT

PROBE = """
import asyncio, time, timeit
from server.metrics import (COMMANDS_TALLY, FANOUT_LAG_SECONDS, REDIS_SCRIPT_SECONDS, WS_COMMANDS,
                            WS_COMMAND_SECONDS)
script = REDIS_SCRIPT_SECONDS.labels("hold")
n = 100_000

def before():  # what a hold cost in metrics before issue 14's additions (ws/core.py)
    started = time.perf_counter()
    WS_COMMANDS.labels("room", "hold", "ok").inc()
    WS_COMMAND_SECONDS.labels("room", "hold").observe(time.perf_counter() - started)

def tallied():  # what ws/core.py does now: counted in memory, flushed once a second
    started = time.perf_counter()
    COMMANDS_TALLY.add("room", "hold", "ok", time.perf_counter() - started)

def added():  # one round trip and one frame observed: the most a hold adds
    started = time.perf_counter()
    script.observe(time.perf_counter() - started)
    FANOUT_LAG_SECONDS.observe(0.01)

async def go():
    best = lambda f: min(timeit.repeat(f, number=n, repeat=5)) / n * 1e6
    print(f"{best(before):.2f} {best(tallied):.2f} {best(added):.2f}")
    COMMANDS_TALLY.flush()

asyncio.run(go())
"""


def probe(multiprocess: bool) -> tuple[float, float, float]:
    """(µs per hold written directly, tallied, added by issue 14) in a fresh interpreter."""
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory(prefix="houseful-metrics-cost-") as folder:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True, capture_output=True)
    before, tallied, added = (float(x) for x in out.stdout.split())
    return before, tallied, added


def main() -> int:
    """Print both modes as a markdown table."""
    print("| mode | command metrics per hold, written directly | tallied (now) | added by issue 14, at most |")
    print("| --- | --- | --- | --- |")
    for name, multi in (("multiprocess (workers > 1)", True), ("one process", False)):
        before, tallied, added = probe(multi)
        print(f"| {name} | {before:.2f} µs | {tallied:.2f} µs | {added:.2f} µs |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
