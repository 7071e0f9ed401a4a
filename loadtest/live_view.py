"""The live terminal view while a run goes: connected, holds, conflicts, sold, errors and a progress bar.

Plain ANSI (no dependency): on a terminal one status line is redrawn in place a few times a
second; when stdout is not a terminal (CI, a pipe) a plain line is printed every few seconds.
"""
from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, Callable, TextIO

BAR = 24
GREEN, RED, YELLOW, DIM, RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m"


def bar(fraction: float, width: int = BAR) -> str:
    """A progress bar of `width` cells for 0..1."""
    fraction = min(max(fraction, 0.0), 1.0)
    full = int(fraction * width)
    return "█" * full + "░" * (width - full)


def status_line(stats: dict[str, Any], elapsed: float, progress: float, colour: bool) -> str:
    """One line of the current figures."""
    def c(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if colour else text

    errors = stats.get("errors", 0)
    houseful = " HOUSEFUL" if stats.get("houseful_at") else ""
    return (f"{bar(progress)} {progress * 100:5.1f}% {elapsed:6.1f}s | connected {stats.get('connected', 0):>6} "
            f"| holds {c(GREEN, str(stats.get('holds', 0))):>6} | conflicts {c(YELLOW, str(stats.get('conflicts', 0)))} "
            f"| sold {stats.get('sold', 0)} | errors {c(RED if errors else DIM, str(errors))}"
            f"{c(GREEN, houseful)}")


class LiveView:
    """Redraws the status from `read()` until stopped; `progress()` gives 0..1."""

    def __init__(self, read: Callable[[], dict[str, Any]], progress: Callable[[], float],
                 out: TextIO | None = None, enabled: bool = True) -> None:
        self.read, self.progress = read, progress
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.enabled = enabled
        self.started = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin redrawing (a task on the running loop)."""
        if self.enabled:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Draw the last state and stop."""
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._draw(final=True)

    async def _loop(self) -> None:
        interval = 0.25 if self.tty else 5.0
        while True:
            await asyncio.sleep(interval)
            self._draw()

    def _draw(self, final: bool = False) -> None:
        line = status_line(self.read(), time.monotonic() - self.started, self.progress(), self.tty)
        if self.tty:
            self.out.write("\r\x1b[2K" + line + ("\n" if final else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()
