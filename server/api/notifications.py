"""The caller's notification settings and push subscriptions, and the server's push key."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.messaging import preferences
from server.messaging.push import public_key

TAG = "notifications"
SETTINGS_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "email": {"type": "boolean", "description": "reminders and waiting-list offers by email (receipts always)"},
    "push": {"type": "boolean", "description": "the same as push notifications on subscribed browsers"},
    "remind_day_before": {"type": "boolean"},
    "remind_hours": {"type": "integer", "description": "hours before the show for the second reminder; 0 = none"},
    "push_devices": {"type": "integer"}, "day_before_hour": {"type": "integer"},
    "hours_choices": {"type": "array", "items": {"type": "integer"}}, "push_key": {"type": "string"}}}
SETTINGS_BODY: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"email": {"type": "boolean"}, "push": {"type": "boolean"},
                   "remind_day_before": {"type": "boolean"},
                   "remind_hours": {"type": "integer", "minimum": 0, "maximum": 12}},
}
SUBSCRIPTION_BODY: dict[str, Any] = {
    "type": "object", "required": ["endpoint", "keys"], "additionalProperties": True,  # browsers add expirationTime
    "properties": {
        "endpoint": {"type": "string", "maxLength": 2048},
        "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
            "p256dh": {"type": "string", "maxLength": 200}, "auth": {"type": "string", "maxLength": 100}}},
    },
}
UNSUBSCRIBE_BODY: dict[str, Any] = {
    "type": "object", "required": ["endpoint"], "additionalProperties": False,
    "properties": {"endpoint": {"type": "string", "maxLength": 2048}},
}


def _answer(request: web.Request, found: dict[str, Any]) -> web.Response:
    app = request.app
    return json_response({**found, "day_before_hour": app[keys.SETTINGS].messages.day_before_hour,
                          "hours_choices": list(preferences.HOURS_CHOICES),
                          "push_key": public_key(app[keys.MESSENGER].vapid) if app[keys.SETTINGS].push.enabled else ""})


@endpoint("My notification settings", tag=TAG, role="customer", response=SETTINGS_SCHEMA)
async def get_settings(request: web.Request) -> web.Response:
    """GET /api/me/notifications."""
    app = request.app
    return _answer(request, await preferences.get(app[keys.DB], app[keys.QUERIES].messages, app[keys.SETTINGS],
                                                  request[keys.USER].user_id))


@endpoint("Change my notification settings", tag=TAG, role="customer", body=SETTINGS_BODY, response=SETTINGS_SCHEMA,
          errors=(400,))
async def put_settings(request: web.Request) -> web.Response:
    """PATCH /api/me/notifications."""
    app = request.app
    return _answer(request, await preferences.put(app[keys.DB], app[keys.QUERIES].messages, app[keys.SETTINGS],
                                                  request[keys.USER].user_id, request[keys.BODY]))


@endpoint("Receive push notifications on this browser", tag=TAG, role="customer", body=SUBSCRIPTION_BODY,
          status=201, errors=(400,),
          description="The browser's PushSubscription JSON; only the push services in push.allowed_hosts.")
async def subscribe(request: web.Request) -> web.Response:
    """POST /api/me/push-subscriptions."""
    app, body = request.app, request[keys.BODY]
    await preferences.subscribe(app[keys.DB], app[keys.QUERIES].messages, app[keys.SETTINGS],
                                request[keys.USER].user_id, body["endpoint"], body["keys"]["p256dh"],
                                body["keys"]["auth"])
    return json_response({"status": "subscribed"}, 201)


@endpoint("Stop push notifications on this browser", tag=TAG, role="customer", body=UNSUBSCRIBE_BODY, status=204)
async def unsubscribe(request: web.Request) -> web.Response:
    """DELETE /api/me/push-subscriptions."""
    await preferences.unsubscribe(request.app[keys.DB], request.app[keys.QUERIES].messages,
                                  request[keys.USER].user_id, request[keys.BODY]["endpoint"])
    return web.Response(status=204)
