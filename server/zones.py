"""IANA time zones: which names a cinema (or the config) may use, and their local days."""
from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

# In the tz database's folder but not places: a cinema cannot be "localtime".
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_PLACES


def is_zone(name: object) -> bool:
    """True for an IANA zone name such as Europe/London (case as the database spells it)."""
    return isinstance(name, str) and name in _names()


@functools.lru_cache(maxsize=256)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The ZoneInfo of a valid name (ValueError otherwise)."""
    if not is_zone(name):
        raise ValueError(f"{name!r} is not an IANA time zone such as Europe/London")
    return zoneinfo.ZoneInfo(name)


def local_date(instant: dt.datetime, name: str) -> dt.date:
    """The calendar day an instant falls on in a zone (a 00:30 BST start belongs to that day)."""
    return instant.astimezone(zone(name)).date()
