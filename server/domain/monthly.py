"""The monthly report's figures: one cinema's (or the chain's) screenings of a local month.

A month is a calendar month at each screening's cinema (server/domain/days.py): a show at 00:30
BST on 1 July belongs to July. Figures are for the screenings SHOWN in the month (takings of a
show count in the month it plays, whenever its tickets were sold), read once from PostgreSQL
(`month_screenings`) and summed here; a month of a chain is a few thousand rows at most.
Money is integer minor units. No-shows only count screenings that have started by `now`.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import asyncpg

from server.domain.reports import occupancy
from server.errors import InvalidInput, NotFound
from server.zones import zone

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RANKED = 5  # screenings in the top and bottom lists


@dataclass(frozen=True)
class Month:
    """A calendar month (first day), as in the API's `month=YYYY-MM`."""

    first: dt.date

    @classmethod
    def parse(cls, text: str | None, today: dt.date) -> Month:
        """`YYYY-MM`, or the month of `today` when None."""
        if text is None:
            return cls(today.replace(day=1))
        try:
            year, month = (int(part) for part in text.split("-"))
            return cls(dt.date(year, month, 1))
        except ValueError:
            raise InvalidInput("month must be YYYY-MM", field="month") from None

    @property
    def last(self) -> dt.date:
        """The month's last day."""
        return self.first.replace(day=calendar.monthrange(self.first.year, self.first.month)[1])

    def previous(self) -> Month:
        """The month before."""
        return Month((self.first - dt.timedelta(days=1)).replace(day=1))

    def __str__(self) -> str:
        return self.first.strftime("%Y-%m")

    @property
    def name(self) -> str:
        """'March 2031'."""
        return self.first.strftime("%B %Y")


def _group(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> dict[Any, dict[str, int]]:
    """Screenings, capacity, sold and takings summed per key (in first-seen order)."""
    out: dict[Any, dict[str, int]] = defaultdict(lambda: {"screenings": 0, "capacity": 0, "sold": 0, "takings": 0})
    for row in rows:
        bucket = out[key(row)]
        bucket["screenings"] += 1
        for name in ("capacity", "sold", "takings"):
            bucket[name] += row[name]
    return out


def _rows(groups: dict[Any, dict[str, int]], labels: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    """Groups as a list with an occupancy each; `labels` fixes which appear and their order."""
    keys = list(labels) if labels is not None else list(groups)
    empty = {"screenings": 0, "capacity": 0, "sold": 0, "takings": 0}
    return [{"label": str(k), **groups.get(k, empty),
             "occupancy": occupancy(groups.get(k, empty)["sold"], groups.get(k, empty)["capacity"])} for k in keys]


def _screening(row: dict[str, Any]) -> dict[str, Any]:
    local = row["starts_at"].astimezone(zone(row["time_zone"]))
    return {"screening_id": row["screening_id"], "movie": row["movie"], "cinema": row["cinema"],
            "auditorium": row["auditorium"], "starts": local.strftime("%a %d %b %H:%M"), "sold": row["sold"],
            "capacity": row["capacity"], "occupancy": occupancy(row["sold"], row["capacity"])}


def _summary(rows: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    sold = sum(r["sold"] for r in rows)
    capacity = sum(r["capacity"] for r in rows)
    takings = sum(r["takings"] for r in rows)
    refund_amount = sum(r["refund_amount"] for r in rows)
    started = [r for r in rows if r["starts_at"] <= now and r["status"] == "scheduled"]
    started_sold = sum(r["sold"] for r in started)
    checked_in = sum(r["checked_in"] for r in started)
    return {
        "screenings": len(rows), "cancelled": sum(r["status"] == "cancelled" for r in rows),
        "tickets": sold, "capacity": capacity, "occupancy": occupancy(sold, capacity),
        "gross": takings + refund_amount, "refunds": sum(r["refunds"] for r in rows),
        "refund_amount": refund_amount, "net": takings,
        "houseful": sum(1 for r in rows if r["capacity"] and r["sold"] >= r["capacity"]),
        "started": len(started), "started_tickets": started_sold, "checked_in": checked_in,
        "no_shows": started_sold - checked_in, "no_show_rate": occupancy(started_sold - checked_in, started_sold),
    }


def _velocity(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When the month's tickets were sold: a week or more ahead, 1-7 days ahead, on the last day."""
    sold = sum(r["sold"] for r in rows)
    week = sum(r["sold_by_7d"] for r in rows)
    day = sum(r["sold_by_1d"] for r in rows)
    parts = (("7+ days ahead", week), ("1-7 days ahead", day - week), ("last 24 hours", sold - day))
    return [{"label": label, "sold": n, "share": occupancy(n, sold)} for label, n in parts]


def figures(rows: list[dict[str, Any]], month: Month, now: dt.datetime) -> dict[str, Any]:
    """Every figure of the report from the month's screening rows."""
    chain = len({r["cinema_id"] for r in rows}) > 1
    live = [r for r in rows if r["status"] == "scheduled" and r["capacity"]]
    ranked = sorted(live, key=lambda r: (-occupancy(r["sold"], r["capacity"]), r["starts_at"]))
    days = [month.first + dt.timedelta(days=i) for i in range((month.last - month.first).days + 1)]
    by_day = _group(rows, lambda r: r["day"])
    screen = (lambda r: f"{r['cinema']} - {r['auditorium']}") if chain else (lambda r: r["auditorium"])
    return {
        "summary": _summary(rows, now),
        "by_screen": _rows(dict(sorted(_group(rows, screen).items()))),
        "by_film": sorted(_rows(_group(rows, lambda r: r["movie"])), key=lambda g: (-g["sold"], g["label"])),
        "by_weekday": _rows({WEEKDAYS[k - 1]: v for k, v in _group(rows, lambda r: r["weekday"]).items()},
                            WEEKDAYS),
        "by_hour": _rows({f"{k:02d}:00": v for k, v in sorted(_group(rows, lambda r: r["hour"]).items())}),
        "by_day": [{"day": d.isoformat(), "label": str(d.day), "takings": by_day.get(d, {}).get("takings", 0),
                    "sold": by_day.get(d, {}).get("sold", 0)} for d in days],
        "top": [_screening(r) for r in ranked[:RANKED]],
        "bottom": [_screening(r) for r in ranked[::-1][:RANKED]],
        "velocity": _velocity(rows),
    }


async def monthly(pool: asyncpg.Pool, sql: SimpleNamespace, cinema_id: int | None, month: Month,
                  now: dt.datetime, currency: str) -> dict[str, Any]:
    """The report of one cinema (or the chain, cinema_id None) for a local month."""
    cinema = None
    if cinema_id is not None:
        found = await pool.fetchrow(sql.report_cinema, cinema_id)
        if found is None:
            raise NotFound("no such cinema")
        cinema = dict(found)
    rows = [dict(r) for r in await pool.fetch(sql.month_screenings, month.first, month.last, cinema_id)]
    where = cinema["name"] if cinema else "All cinemas"
    return {
        "title": f"{where} - {month.name}", "cinema": cinema, "month": str(month), "month_name": month.name,
        "from": month.first.isoformat(), "to": month.last.isoformat(), "currency": currency,
        "generated_at": now.isoformat(), **figures(rows, month, now),
    }
