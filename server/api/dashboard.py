"""Staff dashboard REST: the same occupancy figures the `/ws/dashboard` feed streams."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.domain.days import DayRange
from server.live.dashboard import MAX_DAYS, MAX_SCREENINGS

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$",
         "description": "YYYY-MM-DD, a local day at each screening's cinema"}
OCCUPANCY_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "cinema_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "date": _DATE,
        "from": _DATE,
        "to": _DATE,
    },
    "additionalProperties": False,
}
_COUNT = {"type": "integer", "minimum": 0}
ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "screening_id": {"type": "integer"}, "movie": {"type": "string"},
        "cinema_id": {"type": "integer"}, "cinema": {"type": "string"}, "auditorium": {"type": "string"},
        "time_zone": {"type": "string", "description": "the cinema's IANA time zone"},
        "starts_at": {"type": "string", "format": "date-time"},
        "capacity": _COUNT, "sold": _COUNT, "held": _COUNT, "free": _COUNT, "houseful": {"type": "boolean"},
        "takings": _COUNT, "tickets": _COUNT, "currency": {"type": "string"}, "version": _COUNT,
    },
}
OCCUPANCY_RESPONSE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "filter": {"type": "object"},
        "screenings": {"type": "array", "items": ROW_SCHEMA},
        "totals": {"type": "object"},
    },
}


@endpoint(
    "Live occupancy and takings per screening",
    tag="dashboard",
    role="staff",
    query=OCCUPANCY_QUERY,
    response=OCCUPANCY_RESPONSE,
    description=(
        "Screenings of one cinema (or all) starting on `date` or within `from`..`to` (inclusive, at "
        f"most {MAX_DAYS} days; at most {MAX_SCREENINGS} rows). Days are local days at each screening's "
        "cinema; without dates the server picks today (the cinema's, or catalog.default_time_zone's for "
        "all cinemas) and `filter` says which day that is. "
        "capacity excludes blocked seats; takings are the prices of live tickets, in minor units."
    ),
)
async def occupancy(request: web.Request) -> web.Response:
    """GET /api/dashboard/occupancy."""
    q = request[keys.QUERY]
    hub = request.app[keys.DASHBOARD]
    flt = await hub.resolve(DayRange.parse(q.get("cinema_id"), q.get("date"), q.get("from"), q.get("to")))
    figures = await hub.occupancy(flt)
    return json_response({"filter": flt.describe(), **figures})
