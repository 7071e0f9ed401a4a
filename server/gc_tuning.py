"""The cyclic garbage collector's settings for a process that holds thousands of sockets.

CPython collects cycles by generation: a young collection every YOUNG allocations of container
objects, a middle one every MIDDLE young ones, and a full one (every tracked object) every OLD
middle ones. A worker with 3,000 open seat maps tracks ~300,000 long-lived objects, and with the
defaults (700, 10, 10) a rush of holds triggered full collections over all of them: 15 in one
bench run, up to 170 ms each, a third of the worker's CPU in the burst (perf, issue 13;
bench/RESULTS.md). So a serving process:

- freezes what exists once it is up (modules, the app, its caches: ~110,000 objects), which no
  collection traverses again (they live as long as the process anyway);
- collects the young generation every 50,000 allocations instead of 700, and the middle one
  after every 2nd young collection instead of every 10th: most objects of one command die before
  a collection and never reach an older generation, and what survives leaves the middle
  generation soon, before it grows big. Pauses stay short for this many sockets: at 3,000 open
  seat maps in a burst of holds, young ones took up to ~40 ms and middle ones up to ~0.1 s
  (bench/RESULTS.md), against full collections of ~0.45 s;
- runs a full collection after 100 middle ones instead of 10: about one per 10 million
  allocations, seconds apart in a rush instead of several a second. Cycles still get collected
  (a closed socket's objects included), later and in fewer, larger passes.

The load tool's processes use it too: they hold as many sockets as the server.
"""
from __future__ import annotations

import gc

YOUNG, MIDDLE, OLD = 50_000, 2, 100


def tune_for_serving() -> None:
    """Freeze everything allocated so far and raise the thresholds (call once, when started)."""
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
