"""Accounts API: register, login, refresh, logout and the caller's own profile.

Browsers keep the session in two HttpOnly cookies; API clients get both tokens in the
JSON body and send `Authorization: Bearer <access token>`.
"""
from __future__ import annotations

from typing import Any

import fastjsonschema
from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response, read_json
from server.domain import accounts, revocation
from server.domain.tokens import ACCESS_COOKIE, REFRESH_COOKIE, ROLES, SESSION_HINT_COOKIE
from server.errors import InvalidInput, NotFound, Unauthorized

TAG = "accounts"
REFRESH_PATH = "/api/auth"
ROLE_ENUM = {"type": "string", "enum": list(ROLES)}
USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "email", "name", "phone", "role", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string"},
        "phone": {"type": ["string", "null"]},
        "role": ROLE_ENUM,
        "created_at": {"type": "string", "format": "date-time"},
    },
}
SESSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["user", "token_type", "access_token", "expires_in"],
    "properties": {
        "user": USER_SCHEMA,
        "token_type": {"const": "Bearer"},
        "access_token": {"type": "string"},
        "expires_in": {"type": "integer", "description": "seconds the access token lives"},
        "refresh_token": {"type": "string", "description": "absent when the refresh came from the cookie"},
        "refresh_expires_in": {"type": "integer"},
    },
}
# Passwords are checked by the domain (400 weak_password), so the schema only fixes types.
REGISTER_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["email", "name", "password"],
    "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "maxLength": 320},
        "name": {"type": "string", "maxLength": 1000},
        "phone": {"type": ["string", "null"], "maxLength": 40},
        "password": {"type": "string", "maxLength": 4096},
    },
}
LOGIN_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["email", "password"],
    "additionalProperties": False,
    "properties": {"email": {"type": "string", "maxLength": 320}, "password": {"type": "string", "maxLength": 4096}},
}
TOKEN_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"refresh_token": {"type": "string", "maxLength": 300}},
}
PROFILE_BODY: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 1000},
        "phone": {"type": ["string", "null"], "maxLength": 40},
        "password": {"type": "string", "maxLength": 4096},
        "current_password": {"type": "string", "maxLength": 4096},
    },
}
PROFILE_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["user"],
    "properties": {"user": USER_SCHEMA, "session": SESSION_SCHEMA},
}
_token_body = fastjsonschema.compile(TOKEN_BODY)


def set_session_cookies(response: web.StreamResponse, request: web.Request, session: accounts.Session) -> None:
    """The browser's session: a Lax access cookie for every path, a Strict refresh cookie for /api/auth."""
    auth = request.app[keys.SETTINGS].auth
    response.set_cookie(
        ACCESS_COOKIE, session.access_token, max_age=auth.access_token_seconds, path="/",
        httponly=True, samesite="Lax", secure=auth.cookie_secure,
    )
    response.set_cookie(
        REFRESH_COOKIE, session.refresh_token, max_age=auth.refresh_token_seconds, path=REFRESH_PATH,
        httponly=True, samesite="Strict", secure=auth.cookie_secure,
    )
    response.set_cookie(
        SESSION_HINT_COOKIE, "1", max_age=auth.refresh_token_seconds, path="/",
        httponly=True, samesite="Lax", secure=auth.cookie_secure,
    )


def clear_session_cookies(response: web.StreamResponse) -> None:
    """Expire the session cookies (and the hint that a session exists)."""
    response.del_cookie(ACCESS_COOKIE, path="/")
    response.del_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    response.del_cookie(SESSION_HINT_COOKIE, path="/")


async def _open_session(request: web.Request, user: dict[str, Any]) -> accounts.Session:
    app = request.app
    return await accounts.open_session(app[keys.DB], app[keys.QUERIES].accounts, app[keys.SETTINGS],
                                       app[keys.JWT_SECRET], user, now=app[keys.CLOCK].time())


def _session_response(request: web.Request, session: accounts.Session, status: int = 200) -> web.Response:
    response = json_response(session.to_dict(request.app[keys.SETTINGS]), status)
    set_session_cookies(response, request, session)
    return response


async def _refresh_token_of(request: web.Request) -> tuple[str | None, bool]:
    """(refresh token, came from the cookie): the JSON body {refresh_token} wins, else the cookie."""
    if request.body_exists and (await request.read()).strip():
        try:
            body = _token_body(await read_json(request))
        except fastjsonschema.JsonSchemaValueException as exc:
            raise InvalidInput(exc.message.replace("data", "body"), field="refresh_token") from None
        if "refresh_token" in body:
            return body["refresh_token"], False
    cookie = request.cookies.get(REFRESH_COOKIE)
    return cookie, cookie is not None


@endpoint("Create a customer account and log in", tag=TAG, body=REGISTER_BODY, response=SESSION_SCHEMA,
          status=201, errors=(409, 429))
async def register(request: web.Request) -> web.Response:
    """POST /api/auth/register."""
    app, body = request.app, request[keys.BODY]
    user = await accounts.register(
        app[keys.DB], app[keys.QUERIES].accounts, app[keys.REDIS], app[keys.SETTINGS], email=body["email"],
        name=body["name"], password=body["password"], phone=body.get("phone"), ip=request.remote,
    )
    session = await _open_session(request, user)
    return _session_response(request, session, 201)


@endpoint("Log in with email and password", tag=TAG, body=LOGIN_BODY, response=SESSION_SCHEMA, errors=(401, 429),
          description="Sets the houseful_access and houseful_refresh cookies and returns both tokens.")
async def login(request: web.Request) -> web.Response:
    """POST /api/auth/login."""
    app, body = request.app, request[keys.BODY]
    user = await accounts.login(
        app[keys.DB], app[keys.QUERIES].accounts, app[keys.REDIS], app[keys.SETTINGS], email=body["email"],
        password=body["password"], ip=request.remote,
    )
    session = await _open_session(request, user)
    return _session_response(request, session)


@endpoint("Exchange a refresh token for a new access token (rotating the refresh token)", tag=TAG,
          response=SESSION_SCHEMA, errors=(400, 401),
          description="Optional JSON body {refresh_token}; without it the houseful_refresh cookie is used. "
                      "A cookie refresh answers with new cookies and no refresh_token in the body.")
async def refresh(request: web.Request) -> web.Response:
    """POST /api/auth/refresh."""
    app = request.app
    token, via_cookie = await _refresh_token_of(request)
    try:
        session = await accounts.refresh_session(
            app[keys.DB], app[keys.QUERIES].accounts, app[keys.SETTINGS], app[keys.JWT_SECRET],
            token or "", request.remote, now=app[keys.CLOCK].time(),
        )
    except accounts.SessionExpired as exc:
        response = json_response({"error": exc.to_dict()}, exc.status)
        clear_session_cookies(response)
        return response
    if not via_cookie:
        return json_response(session.to_dict(app[keys.SETTINGS]))
    body = session.to_dict(app[keys.SETTINGS])
    # A script on the page must never see the long-lived token: it stays in its HttpOnly cookie.
    del body["refresh_token"], body["refresh_expires_in"]
    response = json_response(body)
    set_session_cookies(response, request, session)
    return response


@endpoint("Log out: revoke the refresh token and clear the cookies", tag=TAG, status=204, errors=(400,),
          description="Optional JSON body {refresh_token}; without it the houseful_refresh cookie is used.")
async def logout(request: web.Request) -> web.Response:
    """POST /api/auth/logout (idempotent)."""
    app = request.app
    token, _ = await _refresh_token_of(request)
    identity = request.get(keys.USER)
    await accounts.close_session(
        app[keys.DB], app[keys.QUERIES].accounts, token, user_id=identity.user_id if identity else None,
        ip=request.remote,
    )
    if identity is not None:  # its sockets end too (docs/security.md)
        await app[keys.REVOCATIONS].publish(identity.user_id, revocation.LOGOUT)
    response = web.Response(status=204)
    clear_session_cookies(response)
    return response


@endpoint("The logged-in user", tag=TAG, role="customer", response=USER_SCHEMA)
async def me(request: web.Request) -> web.Response:
    """GET /api/me."""
    try:
        user = await accounts.get_user(request.app[keys.DB], request.app[keys.QUERIES].accounts,
                                      request[keys.USER].user_id)
    except NotFound:
        raise Unauthorized("this account no longer exists") from None
    return json_response(user)


@endpoint("Change the logged-in user's name, phone or password", tag=TAG, role="customer", body=PROFILE_BODY,
          response=PROFILE_RESPONSE,
          description="A password change needs current_password, ends every other session and returns a new one.")
async def update_me(request: web.Request) -> web.Response:
    """PATCH /api/me."""
    app, identity = request.app, request[keys.USER]
    user, password_changed = await accounts.update_profile(
        app[keys.DB], app[keys.QUERIES].accounts, app[keys.SETTINGS], identity.user_id,
        request[keys.BODY], request.remote,
    )
    if not password_changed:
        return json_response({"user": user})
    await app[keys.REVOCATIONS].publish(identity.user_id, revocation.PASSWORD)
    session = await _open_session(request, user)
    if identity.via_cookie:
        response = json_response({"user": user})
        set_session_cookies(response, request, session)
        return response
    return json_response({"user": user, "session": session.to_dict(app[keys.SETTINGS])})

