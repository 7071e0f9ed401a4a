"""The staff feed's commands (/ws/dashboard), registered on STAFF; docs/dashboard.md lists them."""
from __future__ import annotations

from typing import Any

from server.live import protocol as p
from server.domain.days import DayRange
from server.ws.commands import CommandSet
from server.ws.staff import StaffConnection, occupancy_frame

STAFF = CommandSet("dashboard", unavailable="occupancy unavailable; try again")
DATE = {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"}


@STAFF.command("filter", {
    "cinema_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**63 - 1},
    "date": DATE, "from": DATE, "to": DATE,
})
async def set_filter(conn: StaffConnection, msg: dict[str, Any]) -> dict[str, Any]:
    """Show another cinema or other days: the result names the filter, then a full list follows."""
    asked = DayRange.parse(msg.get("cinema_id"), msg.get("date"), msg.get("from"), msg.get("to"))
    flt = await conn.hub.resolve(asked)
    conn.viewer.follows_today = asked.first is None
    listing = await conn.hub.show(conn.viewer, flt)
    conn.after_reply(lambda: conn.send(occupancy_frame(listing)))
    return {"filter": flt.describe()}
