"""The instants time-sensitive tests run at: the suite must pass at any hour, date and season.

Midnight and midday UTC, in winter (London on GMT) and summer (BST: 23:55 UTC is already 00:55
tomorrow in London, and 00:05 UTC is 01:05). A test marked `@at_any_hour` runs once per instant
with the `clock` fixture (a ShiftedClock) starting there; `@around_midnight` picks the two
hardest ones, for slow tests such as the browser's.
"""
from __future__ import annotations

import datetime as dt

import pytest

UTC = dt.timezone.utc
WINTER = (2027, 1, 13)  # a Wednesday
SUMMER = (2027, 7, 14)  # a Wednesday
HOURS = ((0, 5), (12, 0), (21, 45), (23, 55))
INSTANTS = {
    f"{name}-{hour:02d}{minute:02d}utc": dt.datetime(*day, hour, minute, tzinfo=UTC)
    for name, day in (("jan", WINTER), ("jul", SUMMER)) for hour, minute in HOURS
}
at_any_hour = pytest.mark.parametrize("clock", list(INSTANTS.values()), ids=list(INSTANTS), indirect=True)
# Just after midnight in the Americas (standard time in winter, daylight time in summer), for tests
# of cinemas there: their day turns while London's is well under way, at hours no instant above hits.
AFTER_MIDNIGHT_IN_THE_AMERICAS = {
    "jan-0530utc-new-york": dt.datetime(*WINTER, 5, 30, tzinfo=UTC),
    "jul-0430utc-new-york": dt.datetime(*SUMMER, 4, 30, tzinfo=UTC),
    "jan-0830utc-los-angeles": dt.datetime(*WINTER, 8, 30, tzinfo=UTC),
    "jul-0730utc-los-angeles": dt.datetime(*SUMMER, 7, 30, tzinfo=UTC),
}
at_any_hour_anywhere = pytest.mark.parametrize(
    "clock", [*INSTANTS.values(), *AFTER_MIDNIGHT_IN_THE_AMERICAS.values()],
    ids=[*INSTANTS, *AFTER_MIDNIGHT_IN_THE_AMERICAS], indirect=True)
around_midnight = pytest.mark.parametrize(
    "clock", [INSTANTS["jul-2355utc"], INSTANTS["jan-0005utc"]], ids=["jul-2355utc", "jan-0005utc"], indirect=True)
