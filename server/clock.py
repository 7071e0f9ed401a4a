"""The one clock: every read of wall-clock time in the server goes through a Clock.

Production uses SystemClock. Tests give the app a ShiftedClock, which starts at an instant
they choose (23:55 on a July night, 00:05 in January...) and then flows at the real rate, so
TTLs, deadlines and expiries still happen by themselves; `advance` jumps it forward instead of
sleeping. PostgreSQL's now() and Redis's TIME are never used for business time: the clock's
reading is passed to them (query parameters, the first ARGV of every live-seat script).
Intervals (timeouts, rate limits, sweeps) keep using time.monotonic(): they need no date.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
from typing import Mapping

log = logging.getLogger(__name__)

# TESTING ONLY: a process started with this variable (seconds to add to the system clock) runs
# on a ShiftedClock and says so loudly at start. Tests set it for the `run.py serve` processes
# they spawn; nothing in the repository sets it for a real deployment.
TESTING_OFFSET_ENV = "HOUSEFUL_TESTING_CLOCK_OFFSET_SECONDS"


class Clock:
    """Wall-clock time: an aware UTC datetime, unix seconds, or unix milliseconds."""

    def time(self) -> float:
        """Unix time in seconds."""
        raise NotImplementedError

    def now(self) -> dt.datetime:
        """The current instant as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.time(), dt.timezone.utc)

    def ms(self) -> int:
        """Unix time in whole milliseconds (what Redis deadlines and the protocol use)."""
        return int(self.time() * 1000)

    def describe(self) -> str:
        """How this clock relates to the system's (for logs and /api/health)."""
        return "system"


class SystemClock(Clock):
    """The host's clock (kept right by NTP on every server)."""

    def time(self) -> float:
        return time.time()


class ShiftedClock(Clock):
    """TESTING: the system clock moved by a fixed offset; it flows at the real rate."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset = float(offset_seconds)

    @classmethod
    def starting_at(cls, instant: dt.datetime) -> ShiftedClock:
        """A clock that reads `instant` now and keeps running from there."""
        if instant.tzinfo is None:
            raise ValueError("the starting instant needs a time zone")
        return cls(instant.timestamp() - time.time())

    def time(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Jump forward (or back, with a negative number): a test's way of letting time pass."""
        self.offset += seconds

    def describe(self) -> str:
        return f"shifted by {self.offset:+.0f} s (testing only)"


def from_environment(env: Mapping[str, str] | None = None) -> Clock:
    """The SystemClock, unless the testing-only offset variable is set (then a loud warning)."""
    env = os.environ if env is None else env
    raw = env.get(TESTING_OFFSET_ENV)
    if raw is None or raw == "":
        return SystemClock()
    try:
        clock = ShiftedClock(float(raw))
    except ValueError:
        raise ValueError(f"{TESTING_OFFSET_ENV} must be a number of seconds, got {raw!r}") from None
    log.warning("TESTING ONLY: %s is set, this server's clock reads %s (%s). Never use this in production.",
                TESTING_OFFSET_ENV, clock.now().isoformat(), clock.describe())
    return clock
