"""The monthly report archive (staff) and who manages which cinema (admin): thin handlers."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.errors import InvalidInput, NotFound

TAG = "reports"
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
ARCHIVE_LIMIT = 500
_FORMAT = {"type": "object", "additionalProperties": False,
           "properties": {"format": {"type": "string", "enum": ["html", "pdf"], "default": "pdf"}}}


def report_html(text: str) -> web.Response:
    """A report document: no scripts, so its inline CSS is allowed, and the reports page may frame it."""
    return web.Response(text=text, content_type="text/html",
                        headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"})


@endpoint("Stored monthly reports, newest month first", tag=TAG, role="staff", response={"type": "object"},
          description="Each: id, cinema_id (null: the chain), cinema, month, title, emailed_to (recipients), "
                      "created_at, finished_at, has_pdf. Made by the monthly job (docs/reports.md).")
async def archive_list(request: web.Request) -> web.Response:
    """GET /api/reports/archive."""
    rows = await request.app[keys.DB].fetch(request.app[keys.QUERIES].monthly.archive_list, ARCHIVE_LIMIT)
    return json_response({"reports": [{**dict(r), "month": r["month"].strftime("%Y-%m")} for r in rows]})


@endpoint("One stored monthly report, as PDF (default) or HTML", tag=TAG, role="staff", query=_FORMAT,
          response={"type": "string"}, errors=(404,), media=("application/pdf", "text/html"))
async def archive_get(request: web.Request) -> web.Response:
    """GET /api/reports/archive/{id}."""
    row = await request.app[keys.DB].fetchrow(request.app[keys.QUERIES].monthly.archive_get,
                                              int(request.match_info["id"]))
    if row is None or row["pdf"] is None:
        raise NotFound("no such report")
    if request[keys.QUERY].get("format", "pdf") == "html":
        return report_html(row["html"])
    name = f"houseful-report-{row['month']:%Y-%m}-{row['id']}.pdf"
    return web.Response(body=row["pdf"], content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})


@endpoint("The managers of a cinema (they receive its monthly report)", tag=TAG, role="admin",
          response={"type": "object"}, errors=(404,))
async def managers(request: web.Request) -> web.Response:
    """GET /api/cinemas/{id}/managers."""
    rows = await request.app[keys.DB].fetch(request.app[keys.QUERIES].monthly.managers_of,
                                            int(request.match_info["id"]))
    return json_response({"managers": [dict(r) for r in rows]})


async def _change(request: web.Request, query: str) -> Any:
    sql = getattr(request.app[keys.QUERIES].monthly, query)
    return await request.app[keys.DB].fetchval(sql, int(request.match_info["id"]), int(request.match_info["user_id"]))


@endpoint("Make a staff user a manager of a cinema", tag=TAG, role="admin", status=204, errors=(400, 404),
          description="Idempotent. 404 for an unknown cinema; 400 (field user_id) for a user who is not staff.")
async def manager_add(request: web.Request) -> web.Response:
    """PUT /api/cinemas/{id}/managers/{user_id}."""
    outcome = await _change(request, "manager_add")
    if outcome == "no_cinema":
        raise NotFound("no such cinema")
    if outcome == "not_staff":
        raise InvalidInput("only staff and admins can manage a cinema", field="user_id")
    return web.Response(status=204)


@endpoint("Stop a user managing a cinema", tag=TAG, role="admin", status=204, errors=(404,))
async def manager_remove(request: web.Request) -> web.Response:
    """DELETE /api/cinemas/{id}/managers/{user_id}."""
    if await _change(request, "manager_remove") is None:
        raise NotFound("that user does not manage that cinema")
    return web.Response(status=204)
