"""Background tasks: cancelled at shutdown and waited for a bounded time, never forever."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Iterable

log = logging.getLogger(__name__)
STOP_SECONDS = 5.0


async def stop_within(tasks: Iterable[asyncio.Task[None]], seconds: float = STOP_SECONDS) -> None:
    """Cancel the tasks and wait for them at most `seconds`; a stuck one is logged and abandoned.

    Bounded because a library that turns our cancel into its own timeout must not hang a deploy.
    """
    pending = [task for task in tasks if task is not None]
    if not pending:
        return
    for task in pending:
        task.cancel()
    _, stuck = await asyncio.wait(pending, timeout=seconds)
    for task in stuck:
        log.warning("%s did not stop within %ss; abandoning it", task.get_name(), seconds)
        task.cancel()
    for task in set(pending) - stuck:
        with contextlib.suppress(asyncio.CancelledError):
            exc = task.exception()
            if exc is not None:
                log.error("%s ended with %r", task.get_name(), exc)
