"""The sell-out forecast (staff): a thin handler over server.domain.forecasts."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.domain import forecasts

QUERY: dict[str, Any] = {"type": "object", "additionalProperties": False,
                         "properties": {"cinema_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}}


@endpoint(
    "Sell-out forecast of upcoming screenings", tag="reports", role="staff", query=QUERY,
    response={"type": "object"},
    description=(
        f"Scheduled screenings of the next {forecasts.HORIZON_DAYS} days (optionally of one cinema): sold, "
        "capacity, predicted_occupancy (percent), predicted_sold, likely_houseful, houseful_by (when it is "
        "expected to sell out, or null), and `similar`: how many past screenings it was compared with and how "
        "alike (same film, weekday, hour, screen...). `model`: the linear model's features and coefficients."
    ),
)
async def forecast(request: web.Request) -> web.Response:
    """GET /api/forecast."""
    app = request.app
    body = await forecasts.forecasts(app[keys.DB], app[keys.QUERIES].forecast, app[keys.CLOCK].now(),
                                     request[keys.QUERY].get("cinema_id"))
    return json_response(body)
