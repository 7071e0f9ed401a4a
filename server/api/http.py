"""The JSON edge: responses via orjson and the `endpoint` decorator.

`endpoint` declares an API handler's contract once: the role it needs, the JSON Schema of
its body, query and response, and its summary. The same declaration validates input (so
handlers only see checked data) and feeds the OpenAPI document, so the two never drift.
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import asyncpg
import fastjsonschema
import orjson
from aiohttp import web

from server import keys
from server.errors import Forbidden, InvalidInput, InvalidJson, Unauthorized, UnsupportedMediaType
from server.sentences import for_people

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, asyncpg.Record):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    """orjson with the types our records carry (Decimal, Record)."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON response encoded by orjson."""
    return web.Response(body=dumps(data), status=status, content_type="application/json", headers=headers)


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    """The one error shape: {"error": {"code", "message" (a sentence for people), "field"?}}."""
    err: dict[str, Any] = {"code": code, "message": for_people(message, field)}
    if field:
        err["field"] = field
    err.update(extra)
    return {"error": err}


@dataclass
class EndpointSpec:
    """What OpenAPI says about a handler."""

    summary: str
    tag: str
    role: str | None = None
    body: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    description: str = ""
    # Media types of the success response; anything but JSON is documented as a string body.
    media: tuple[str, ...] = ("application/json",)


def _field_of(exc: fastjsonschema.JsonSchemaValueException, prefix: str) -> str | None:
    path = [str(p) for p in (exc.path or [])[1:]]
    if not path and exc.rule == "additionalProperties":
        # fastjsonschema says "must not contain {'name'} properties" (older versions used parentheses).
        extra = re.search(r"[({](.*?)[)}]", exc.message)
        return extra.group(1).split(",")[0].strip("'\" ") if extra else None
    if not path and exc.rule == "required" and isinstance(exc.rule_definition, list):
        # fastjsonschema names the missing property in its message.
        missing = re.search(r"\[(.*?)\]", exc.message)
        if missing:
            return missing.group(1).split(",")[0].strip("'\" ")
    return ".".join(path) or None


def _check(validator: Callable[[Any], Any], data: Any, prefix: str) -> Any:
    try:
        checked = validator(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        name = _field_of(exc, prefix)
        message = exc.message.replace("data.", "").replace("data ", f"{prefix} ")
        raise InvalidInput(message, field=name) from None
    _refuse_nul(checked, None)
    return checked


def _refuse_nul(data: Any, where: str | None) -> None:
    """400 for a NUL character in any string or key: PostgreSQL text cannot hold one."""
    if isinstance(data, str):
        if "\x00" in data:
            raise InvalidInput("text may not contain the NUL character", field=where)
    elif isinstance(data, dict):
        for key, value in data.items():
            name = f"{where}.{key}" if where else str(key)
            _refuse_nul(key, name)
            _refuse_nul(value, name)
    elif isinstance(data, list):
        for n, value in enumerate(data):
            _refuse_nul(value, f"{where}.{n}" if where else str(n))


def _coerce_query(request: web.Request, schema: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name in request.query:
        if name not in props:
            raise InvalidInput(f"unknown query parameter {name}", field=name)
        values = request.query.getall(name)
        if len(values) > 1:
            raise InvalidInput(f"{name} is given more than once", field=name)
        raw, typ = values[0], props[name].get("type", "string")
        try:
            if typ == "integer":
                out[name] = int(raw)
            elif typ == "number":
                out[name] = float(raw)
            elif typ == "boolean":
                if raw not in ("true", "false", "1", "0"):
                    raise ValueError
                out[name] = raw in ("true", "1")
            elif typ == "array":
                item = props[name].get("items", {}).get("type", "string")
                parts = [p for p in raw.split(",") if p]
                out[name] = [int(p) for p in parts] if item == "integer" else parts
            else:
                out[name] = raw
        except ValueError:
            raise InvalidInput(f"{name} must be {typ}", field=name) from None
    return out


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; 400 invalid_json, or 415 when it is not sent as application/json.

    Only application/json: a plain HTML form on another site can POST text/plain or form bodies
    without a CORS preflight, never application/json.
    """
    raw = await request.read()
    if not raw:
        raise InvalidJson("a JSON body is required")
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as Content-Type: application/json", field="Content-Type")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"malformed JSON: {exc}") from None


def require_role(request: web.Request, role: str) -> Any:
    """The caller's identity if it has at least `role`; 401 when anonymous, 403 when too weak."""
    user = request.get(keys.USER)
    if user is None:
        raise Unauthorized("log in first")
    if not user.has_role(role):
        raise Forbidden(f"this needs the {role} role")
    return user


def endpoint(
    summary: str,
    *,
    tag: str,
    role: str | None = None,
    body: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    description: str = "",
    media: tuple[str, ...] = ("application/json",),
) -> Callable[[Handler], Handler]:
    """Declare an API handler: checks role, validates body/query into request[keys.BODY|keys.QUERY]."""
    body_check = fastjsonschema.compile(body) if body is not None else None
    query_check = fastjsonschema.compile(query) if query is not None else None

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if role is not None:
                require_role(request, role)
            if body_check is not None:
                request[keys.BODY] = _check(body_check, await read_json(request), "body")
            if query_check is not None:
                request[keys.QUERY] = _check(query_check, _coerce_query(request, query or {}), "query")
            return await handler(request)

        wrapper.spec = EndpointSpec(  # type: ignore[attr-defined]
            summary, tag, role, body, query, response, status, errors, description=description, media=media
        )
        return wrapper

    return wrap
