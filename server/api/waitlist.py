"""A houseful screening's waiting list: how long it is, join it, leave it."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.catalog_support import path_id
from server.api.http import endpoint, json_response

TAG = "waiting list"
STATUS: dict[str, Any] = {"type": "object", "properties": {
    "waiting": {"type": "integer", "description": "how many are in line"},
    "claim_minutes": {"type": "integer", "description": "how long seats handed to someone stay held for them"},
    "me": {"type": ["object", "null"], "description": "the caller's place: {status: waiting, seats, position} "
           "or {status: offered, seats, offered_seats, offer_expires_at}; null when not in line"}}}
JOIN_BODY: dict[str, Any] = {
    "type": "object", "required": ["seats"], "additionalProperties": False,
    "properties": {"seats": {"type": "integer", "minimum": 1, "maximum": 100, "description": "seats wanted"}},
}


@endpoint("A screening's waiting list: its length and the caller's place", tag=TAG, response=STATUS)
async def status(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}/waitlist."""
    user = request.get(keys.USER)
    return json_response(await request.app[keys.WAITLIST].status(path_id(request), user.user_id if user else None))


@endpoint("Join a houseful screening's waiting list", tag=TAG, role="customer", body=JOIN_BODY, response=STATUS,
          status=201, errors=(400, 404, 409),
          description="409 not_houseful while seats are free; joining again answers 200 with the same place. "
                      "When seats come free they are held for the next in line for waitlist.claim_minutes "
                      "and the customer is emailed (and pushed, if they chose so).")
async def join(request: web.Request) -> web.Response:
    """POST /api/screenings/{id}/waitlist."""
    found, joined = await request.app[keys.WAITLIST].join(request[keys.USER].user_id, path_id(request),
                                                          request[keys.BODY]["seats"])
    return json_response(found, 201 if joined else 200)


@endpoint("Leave a screening's waiting list", tag=TAG, role="customer", status=204, errors=(404,))
async def leave(request: web.Request) -> web.Response:
    """DELETE /api/screenings/{id}/waitlist."""
    await request.app[keys.WAITLIST].leave(request[keys.USER].user_id, path_id(request))
    return web.Response(status=204)
