"""Password reset over HTTP: ask for a link by email, then set a new password with it."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.domain import resets, revocation

TAG = "accounts"
ASKED = ("If an account uses this address, we have emailed it a link to choose a new password. "
         "The link works once, for a limited time.")
ASK_BODY: dict[str, Any] = {
    "type": "object", "required": ["email"], "additionalProperties": False,
    "properties": {"email": {"type": "string", "maxLength": 320}},
}
COMPLETE_BODY: dict[str, Any] = {
    "type": "object", "required": ["token", "password"], "additionalProperties": False,
    "properties": {"token": {"type": "string", "maxLength": 200}, "password": {"type": "string", "maxLength": 4096}},
}
ANSWER = {"type": "object", "properties": {"status": {"type": "string"}, "message": {"type": "string"}}}


@endpoint("Ask for a password reset link by email", tag=TAG, body=ASK_BODY, response=ANSWER, status=202,
          errors=(400, 429),
          description="The same answer whether or not the address has an account; throttled per address and "
                      "per client IP (messages.resets_per_hour).")
async def ask(request: web.Request) -> web.Response:
    """POST /api/auth/reset."""
    app = request.app
    await resets.ask(app[keys.DB], app[keys.QUERIES], app[keys.REDIS], app[keys.SETTINGS],
                     resets.reset_secret(app[keys.JWT_SECRET]), email=request[keys.BODY]["email"],
                     now=app[keys.CLOCK].now(), ip=request.remote)
    return json_response({"status": "sent", "message": ASKED}, 202)


@endpoint("Set a new password with a reset link's token", tag=TAG, body=COMPLETE_BODY, response=ANSWER,
          errors=(400,),
          description="400 invalid_token when the link expired or was used; 400 weak_password. Every session "
                      "of the account ends; log in with the new password.")
async def complete(request: web.Request) -> web.Response:
    """POST /api/auth/reset/complete."""
    app, body = request.app, request[keys.BODY]
    user_id = await resets.complete(app[keys.DB], app[keys.QUERIES], app[keys.SETTINGS], token=body["token"],
                                    password=body["password"], now=app[keys.CLOCK].now(), ip=request.remote)
    await app[keys.REVOCATIONS].publish(user_id, revocation.PASSWORD)
    return json_response({"status": "password_changed", "message": "Your new password is set. Log in with it."})
