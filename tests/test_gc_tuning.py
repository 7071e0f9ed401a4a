"""A serving process's collector settings still reclaim cycles: closed sockets' objects do not pile up."""
from __future__ import annotations

import gc
import weakref

import pytest

from server import gc_tuning


@pytest.fixture
def tuned():
    before = gc.get_threshold()
    gc_tuning.tune_for_serving()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class Node:
    """A stand-in for a socket's object graph: it refers to itself through a peer."""

    def __init__(self) -> None:
        self.peer: Node | None = None


def test_cycles_made_after_tuning_are_still_collected_without_being_asked(tuned) -> None:
    assert gc.isenabled() and gc.get_freeze_count() > 0
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    gone = weakref.ref(a)
    del a, b
    # Ordinary work: containers that stay alive (the collector counts those), no gc.collect().
    kept = [[] for _ in range(2 * gc_tuning.YOUNG)]
    assert gone() is None
    assert len(kept) == 2 * gc_tuning.YOUNG
