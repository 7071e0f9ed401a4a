"""What the catalog modules share: their error codes, database-error mapping, time parsing.

Their SQL is the app's Queries object (sql/queries/catalog_*.sql), passed in as `sql`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Iterator, Mapping

import asyncpg

from server import zones
from server.errors import InvalidInput, error_class

ScreeningOverlap = error_class("ScreeningOverlap", 409, "screening_overlap")
MissingPrice = error_class("MissingPrice", 400, "missing_price")
InvalidSeatMap = error_class("InvalidSeatMap", 400, "invalid_seat_map")
DuplicateName = error_class("DuplicateName", 409, "duplicate_name")
InUse = error_class("InUse", 409, "in_use")
HasTickets = error_class("HasTickets", 409, "has_tickets")
ScreeningPriceMissing = error_class("ScreeningPriceMissing", 409, "screening_missing_price")

Db = asyncpg.Connection | asyncpg.Pool


@contextlib.contextmanager
def db_errors(duplicate: str = "that name is already taken", field: str | None = "name") -> Iterator[None]:
    """Turn constraint violations that slipped past the checks into client errors, never a 500."""
    try:
        yield
    except asyncpg.ExclusionViolationError:
        raise ScreeningOverlap("another screening in this auditorium overlaps that time",
                               field="starts_at") from None
    except asyncpg.UniqueViolationError:
        raise DuplicateName(duplicate, field=field) from None
    except asyncpg.ForeignKeyViolationError:
        raise InUse("it is still referenced by other records") from None
    except (asyncpg.CheckViolationError, asyncpg.DataError, asyncpg.NotNullViolationError) as exc:
        raise InvalidInput(f"value refused: {exc.__class__.__name__}") from None


def parse_instant(value: str, field: str, *, end_of_day: bool = False, need_offset: bool = False,
                  time_zone: str = "UTC") -> dt.datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime.

    A bare date means the start of that day in `time_zone` (or the start of the next day when
    `end_of_day`, so "to=2024-05-01" includes all of 1 May). Naive date-times are UTC unless
    `need_offset`.
    """
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end_of_day else 0)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=zones.zone(time_zone))
            return start.astimezone(dt.timezone.utc)
        when = dt.datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{field} must be an ISO 8601 date or date-time", field=field) from None
    if when.tzinfo is None:
        if need_offset:
            raise InvalidInput(f"{field} needs a UTC offset, e.g. 2030-01-01T19:30:00Z", field=field)
        when = when.replace(tzinfo=dt.timezone.utc)
    if not dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc) <= when <= dt.datetime(9000, 1, 1, tzinfo=dt.timezone.utc):
        raise InvalidInput(f"{field} is out of range", field=field)
    return when.astimezone(dt.timezone.utc)


def time_range(query: Mapping[str, Any], time_zone: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The `from`/`to` query parameters as a half-open UTC range (bare dates are whole days in
    `time_zone`); `from` after `to` is a 400."""
    start = parse_instant(query["from"], "from", time_zone=time_zone) if query.get("from") else None
    end = parse_instant(query["to"], "to", end_of_day=True, time_zone=time_zone) if query.get("to") else None
    if start and end and start >= end:
        raise InvalidInput("from must be before to", field="from")
    return start, end


def row(record: asyncpg.Record | None) -> dict[str, Any] | None:
    """A record as a plain dict (None stays None)."""
    return dict(record) if record is not None else None


def merged(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH semantics: the current values overlaid with the fields the caller sent."""
    return {**current, **{k: v for k, v in changes.items() if k in current}}
