"""Whole local days: the range the staff dashboard, the sales reports and the CSV exports cover.

A day is a cinema's calendar day in its own time zone: a 00:30 BST screening on 11 July belongs
to 11 July wherever the server runs. The SQL compares each row's local day (starts_at AT TIME
ZONE the cinema's zone) with the range, so one range covers cinemas in different zones. "Today"
is decided by the server from its clock: the chosen cinema's today, or the day in
catalog.default_time_zone when the range covers every cinema.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from server.clock import Clock
from server.errors import InvalidInput
from server.zones import local_date


def _day(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD", field=name) from None


@dataclass(frozen=True)
class DayRange:
    """Local days first..last (inclusive) of one cinema or all; None ends mean "up to today"."""

    cinema_id: int | None
    first: dt.date | None
    last: dt.date | None

    @classmethod
    def parse(cls, cinema_id: int | None = None, date: str | None = None,
              start: str | None = None, end: str | None = None) -> DayRange:
        """From API input: `date`, or `from`..`to`; a missing end equals the other; none: today."""
        if cinema_id is not None and (isinstance(cinema_id, bool) or not 1 <= cinema_id < 2**63):
            raise InvalidInput("cinema_id must be a positive integer", field="cinema_id")
        if date is not None and (start is not None or end is not None):
            raise InvalidInput("give either date or a from/to range, not both", field="date")
        if date is not None:
            first = last = _day(date, "date")
        else:
            first, last = _day(start, "from"), _day(end, "to")
            first, last = first or last, last or first
        return cls(cinema_id, first, last)

    def resolved(self, today: dt.date, default_days: int, max_days: int) -> DayRange:
        """With both ends set (none given: the `default_days` days through today) and checked."""
        first, last = self.first, self.last
        if first is None or last is None:
            first, last = today - dt.timedelta(days=default_days - 1), today
        if last < first:
            raise InvalidInput("the To date is before the From date", field="to")
        if (last - first).days + 1 > max_days:
            raise InvalidInput(f"a range covers at most {max_days} days", field="to")
        return replace(self, first=first, last=last)

    @property
    def days(self) -> tuple[dt.date, dt.date]:
        """(first, last) of a resolved range, as the SQL takes them."""
        if self.first is None or self.last is None:
            raise RuntimeError("resolve the range against today first")
        return self.first, self.last

    def describe(self) -> dict[str, Any]:
        """The range as the client sees it."""
        return {"cinema_id": self.cinema_id, "from": self.first.isoformat() if self.first else None,
                "to": self.last.isoformat() if self.last else None}


async def zone_of(db: Any, sql: SimpleNamespace, cinema_id: int | None, default_zone: str) -> str:
    """The cinema's time zone; the default one for all cinemas (or a cinema that does not exist)."""
    if cinema_id is None:
        return default_zone
    found = await db.fetchval(sql.cinema_time_zone, cinema_id)
    return found or default_zone


async def resolve(days: DayRange, *, db: Any, sql: SimpleNamespace, clock: Clock, default_zone: str,
                  default_days: int, max_days: int) -> DayRange:
    """`days` with the server's "today" filled in where the client gave no dates."""
    today = local_date(clock.now(), await zone_of(db, sql, days.cinema_id, default_zone))
    return days.resolved(today, default_days, max_days)
