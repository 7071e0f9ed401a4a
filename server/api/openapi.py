"""The OpenAPI 3.1 document, built from the `endpoint` declarations of the routes."""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from server.api.http import EndpointSpec, endpoint, json_response

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}
_REASONS = {400: "Bad input", 401: "Not logged in", 403: "Not allowed (or another site's Origin)",
            404: "Not found", 409: "Conflict", 413: "Body too large",
            415: "The body is not Content-Type: application/json", 429: "Too many requests",
            503: "A data store is briefly unavailable: retry after Retry-After seconds"}


def _path_params(resource: web.AbstractResource) -> list[tuple[str, str]]:
    """Each path parameter and its route pattern, read from the route's compiled regex."""
    regex = resource.get_info().get("pattern")
    if regex is None:
        return []
    text, params = regex.pattern, []
    for match in re.finditer(r"\(\?P<(\w+)>", text):
        depth, j = 1, match.end()
        while depth:  # the group's body may hold its own parentheses
            depth += {"(": 1, ")": -1}.get(text[j], 0) if text[j - 1] != "\\" else 0
            j += 1
        params.append((match.group(1), text[match.end() : j - 1]))
    return params


def _param_schema(pattern: str) -> dict[str, Any]:
    """A path parameter's schema from its route pattern: digits only -> integer, else a string."""
    if pattern and re.fullmatch(r"\\d(\{[\d,]+\}|\+)?", pattern):
        return {"type": "integer", "minimum": 0}
    return {"type": "string", "pattern": f"^{pattern}$"} if pattern else {"type": "string"}


def _operation(spec: EndpointSpec, method: str, path_params: list[tuple[str, str]]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": spec.summary, "tags": [spec.tag]}
    if spec.description:
        op["description"] = spec.description
    params = [{"name": name, "in": "path", "required": True, "schema": _param_schema(pattern)}
              for name, pattern in path_params]
    for name, schema in (spec.query or {}).get("properties", {}).items():
        required = name in (spec.query or {}).get("required", [])
        params.append({"name": name, "in": "query", "required": required, "schema": schema})
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec.body}}}
    ok: dict[str, Any] = {"description": "OK"}
    if spec.response is not None:
        ok["content"] = {media: {"schema": spec.response if media == "application/json" else {"type": "string"}}
                         for media in spec.media}
    responses: dict[str, Any] = {str(spec.status): ok}
    codes = set(spec.errors) | {503}  # any call may meet a store outage (docs/faults.md)
    if spec.body is not None or spec.query is not None or path_params:
        codes.add(400)
    if spec.body is not None:
        codes |= {413, 415}
    if method not in ("GET", "HEAD"):
        codes.add(403)  # a write from another site's Origin (CSRF), whoever sends it
    if path_params:
        codes.add(404)
    if spec.role:
        codes |= {401, 403}
        op["security"] = [{"bearer": []}, {"cookie": []}]
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _REASONS.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    op["responses"] = responses
    return op


def build_document(app: web.Application) -> dict[str, Any]:
    """Every /api route that declares an `endpoint` spec, as an OpenAPI 3.1 document."""
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        spec = getattr(route.handler, "spec", None)
        if spec is None or route.resource is None or route.method == "HEAD":
            continue
        path, path_params = route.resource.canonical, _path_params(route.resource)
        paths.setdefault(path, {})[route.method.lower()] = _operation(spec, route.method, path_params)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Houseful API", "version": "1.0.0",
                 "description": "Real-time seat selection for cinemas. Errors are {error: {code, message, field?}}."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "houseful_access"},
            },
        },
    }


@endpoint("This OpenAPI document", tag="meta", response={"type": "object"})
async def openapi_document(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    return json_response(build_document(request.app))
