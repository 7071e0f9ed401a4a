"""Tickets: QR codes for their owners, check-in for staff."""
from __future__ import annotations

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.checkout import tickets, views

CHECKIN_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code"],
    "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 200}},
}
CHECKIN_RESULT = {"type": "object", "properties": {
    "result": {"type": "string", "enum": ["valid", "already_used", "invalid"]},
    "reason": {"type": "string"}, "ticket": {"type": "object"},
    "tickets": {"type": "array", "items": {"type": "object"}}}}


@endpoint("A ticket's QR code as SVG (its owner, or staff)", tag="tickets", role="customer", errors=(404,),
          description="The code's payload is HF1.<ticket id>.<order key>.<signature>.")
async def ticket_qr(request: web.Request) -> web.Response:
    """GET /api/tickets/{id}/qr.svg."""
    user = request[keys.USER]
    code = await views.ticket_code_for(request.app[keys.CHECKOUT], int(request.match_info["id"]), user.user_id,
                                       staff=user.has_role("staff"))
    return web.Response(body=tickets.qr_svg(code), content_type="image/svg+xml",
                        headers={"Cache-Control": "private, max-age=3600"})


@endpoint("Check in by a scanned ticket code or a typed order key (staff)", tag="tickets", role="staff",
          body=CHECKIN_BODY, response=CHECKIN_RESULT,
          description="Always 200 with result valid (checked in now), already_used, or invalid. An order "
          "key admits every live ticket of a paid order not yet checked in (listed in `tickets`).")
async def check_in(request: web.Request) -> web.Response:
    """POST /api/checkin."""
    return json_response(await tickets.check_in(request.app[keys.CHECKOUT], request[keys.BODY]["code"]))
