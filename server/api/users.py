"""Admin API over users: list and search, look one up, change a role."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.accounts import ROLE_ENUM, USER_SCHEMA
from server.api.http import endpoint, json_response
from server.domain import accounts, revocation

TAG = "users"
LIST_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "q": {"type": "string", "maxLength": 200, "description": "part of the email or name"},
        "role": ROLE_ENUM,
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        "offset": {"type": "integer", "minimum": 0, "maximum": 1_000_000_000, "default": 0},
    },
}
LIST_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["items", "total", "limit", "offset"],
    "properties": {
        "items": {"type": "array", "items": USER_SCHEMA},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}
ROLE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["role"],
    "additionalProperties": False,
    "properties": {"role": ROLE_ENUM},
}


@endpoint("List users, searched by email or name and filtered by role", tag=TAG, role="admin",
          query=LIST_QUERY, response=LIST_RESPONSE)
async def list_users(request: web.Request) -> web.Response:
    """GET /api/users."""
    query = request[keys.QUERY]
    page = await accounts.list_users(
        request.app[keys.DB], request.app[keys.QUERIES].accounts, q=query.get("q"), role=query.get("role"),
        limit=query.get("limit", 50), offset=query.get("offset", 0),
    )
    return json_response(page)


@endpoint("One user", tag=TAG, role="admin", response=USER_SCHEMA)
async def get_user(request: web.Request) -> web.Response:
    """GET /api/users/{id}."""
    app = request.app
    user_id = int(request.match_info["id"])
    return json_response(await accounts.get_user(app[keys.DB], app[keys.QUERIES].accounts, user_id))


@endpoint("Change a user's role (audited)", tag=TAG, role="admin", body=ROLE_BODY, response=USER_SCHEMA,
          errors=(409,), description="409 last_admin: the only admin cannot be demoted.")
async def change_role(request: web.Request) -> web.Response:
    """PATCH /api/users/{id}."""
    user = await accounts.change_role(
        request.app[keys.DB], request.app[keys.QUERIES].accounts, actor_id=request[keys.USER].user_id,
        user_id=int(request.match_info["id"]), role=request[keys.BODY]["role"], ip=request.remote,
    )
    await request.app[keys.REVOCATIONS].publish(user["id"], revocation.ROLE, user["role"])
    return json_response(user)
