"""A screening's on-sale time and waiting room: read the policy and the line's figures, change them."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.catalog_support import actor, path_id
from server.api.http import endpoint, json_response
from server.domain.catalog.common import parse_instant

TAG = "waiting room"
STATUS: dict[str, Any] = {"type": "object", "properties": {
    "mode": {"enum": ["off", "always", "auto"]},
    "opens_at": {"type": "integer", "description": "sales_open_at in unix ms; 0 = on sale now"},
    "rate": {"type": "integer", "description": "admissions a second (derived from capacity unless set)"},
    "max_active": {"type": "integer", "description": "most shoppers holding an admission at once"},
    "paused": {"type": "integer"}, "capacity": {"type": "integer"},
    "waiting": {"type": "integer"}, "admitted": {"type": "integer", "description": "admitted up to this number"},
    "shopping": {"type": "integer", "description": "admissions still valid"}, "opened": {"type": "boolean"}}}
CHANGE_BODY: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "sales_open_at": {"type": ["string", "null"], "maxLength": 40,
                          "description": "ISO 8601 with an offset; null = on sale now"},
        "mode": {"enum": ["off", "always", "auto"]},
        "admit_per_second": {"type": ["integer", "null"], "minimum": 1, "maximum": 10000,
                             "description": "null = derived from capacity"},
        "max_active": {"type": ["integer", "null"], "minimum": 1, "maximum": 100000},
        "paused": {"type": "boolean"},
    },
}


@endpoint("A screening's waiting room: policy and line", tag=TAG, response=STATUS, errors=(404,),
          description="Public: the seat map page reads it to send customers through the line while gated.")
async def status(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}/waiting-room."""
    return json_response(await request.app[keys.LINE].status(path_id(request)))


@endpoint("Change the on-sale time or the waiting room (pause, resume, rate)", tag=TAG, role="admin",
          body=CHANGE_BODY, response=STATUS, errors=(400, 404),
          description="Audited (screening.waiting_room). Holds need an admission while the mode is not off, "
                      "and none is possible before sales_open_at.")
async def change(request: web.Request) -> web.Response:
    """PUT /api/screenings/{id}/waiting-room."""
    body = dict(request[keys.BODY])
    if body.get("sales_open_at") is not None:
        body["sales_open_at"] = parse_instant(body["sales_open_at"], "sales_open_at", need_offset=True)
    screening_id = path_id(request)
    found = await request.app[keys.LINE].set_policy(screening_id, body, **actor(request))
    request.app[keys.GATE].forget(screening_id)
    return json_response(found)
