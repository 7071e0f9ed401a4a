"""Health: is PostgreSQL reachable, is Redis reachable, and what time the server thinks it is."""
from __future__ import annotations

import asyncio

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.errors import RETRY_AFTER_SECONDS
from server.redis_client import ping

HEALTH_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {"type": "string"}, "postgres": {"type": "string"}, "redis": {"type": "string"},
        "time": {"type": "string", "format": "date-time", "description": "the server's clock (UTC)"},
        "clock": {"type": "string", "description": "system, or how a testing-only clock is shifted"},
    },
}


async def _probe(coro: object) -> str:
    try:
        await asyncio.wait_for(coro, timeout=2)  # type: ignore[arg-type]
        return "ok"
    except Exception:  # any failure means "down"; the detail goes to the log, not the client
        return "down"


@endpoint("Health of the server and its stores", tag="meta", response=HEALTH_SCHEMA, errors=(503,))
async def health(request: web.Request) -> web.Response:
    """GET /api/health: 200 when PostgreSQL and Redis answer, else 503 naming what is down."""
    pg = await _probe(request.app[keys.DB].fetchval("SELECT 1"))
    rd = await _probe(ping(request.app[keys.REDIS]))
    clock = request.app[keys.CLOCK]
    body = {"status": "ok" if pg == rd == "ok" else "degraded", "postgres": pg, "redis": rd,
            "time": clock.now().isoformat(), "clock": clock.describe()}
    if body["status"] != "ok":
        down = [name for name in ("postgres", "redis") if body[name] == "down"]
        body["error"] = {"code": "unavailable", "message": "down: " + ", ".join(down)}
        return json_response(body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return json_response(body)
