"""Page handlers: render a template with the least server data; ES modules fetch the rest.

Pages never enforce roles themselves: the access cookie may have expired while the refresh
cookie is still good, so the page's script asks the API (which refreshes silently) and shows a
log-in prompt on 401/403. The API is where roles are enforced. A page about one thing (a film,
a cinema, a screening, an auditorium) first checks that the thing exists, so an unknown id gets
the styled not-found page (404) instead of an empty page waiting forever.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiohttp import web

from server import keys
from server.web_setup import STATIC_DIR, render_page

MANIFEST_PATH = STATIC_DIR / "manifest.webmanifest"
SERVICE_WORKER_PATH = STATIC_DIR / "sw.js"
FAVICON_PATH = STATIC_DIR / "icons" / "favicon.ico"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# URL parameter -> (query file, query returning a row or value only when the thing exists, what it is).
EXISTS = {
    "movie_id": ("catalog_movies", "movie_get", "film"),
    "cinema_id": ("catalog_cinemas", "cinema_get", "cinema"),
    "screening_id": ("catalog_screenings", "screening_exists", "screening"),
    "auditorium_id": ("catalog_cinemas", "auditorium_get", "auditorium"),
}


class PageNotFound(web.HTTPNotFound):
    """An unknown thing behind a page's URL; `what` names it on the not-found page."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what


async def _check_exists(request: web.Request, param: str) -> None:
    file, query, what = EXISTS[param]
    sql = getattr(request.app[keys.QUERIES], file)
    if await request.app[keys.DB].fetchval(getattr(sql, query), int(request.match_info[param])) is None:
        raise PageNotFound(what)


def _page(template: str, *params: str) -> Handler:
    """A handler rendering `template` with the named URL parameters (already regex-checked by the route)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        for name in params:
            if name in EXISTS:
                await _check_exists(request, name)
        data: dict[str, Any] = {name: request.match_info[name] for name in params}
        return render_page(template, request, data)

    handler.__name__ = f"page_{template.removesuffix('.html').replace('/', '_')}"
    return handler


home = _page("home.html")
movie = _page("movie.html", "movie_id")
cinema = _page("cinema.html", "cinema_id")
screening = _page("screening.html", "screening_id")
line = _page("line.html", "screening_id")
checkout = _page("checkout.html", "screening_id")
order = _page("order.html", "order_key")
tickets = _page("tickets.html")
notification_settings = _page("notifications.html")
login = _page("login.html")
register = _page("register.html")
forgot_password = _page("forgot_password.html")
reset_password = _page("reset_password.html")
staff_dashboard = _page("staff.html")
staff_checkin = _page("checkin.html")
staff_mailbox = _page("mailbox.html")
admin = _page("admin.html")
admin_auditorium = _page("auditorium_editor.html", "auditorium_id")
admin_reports = _page("admin_reports.html")
admin_monthly = _page("admin_monthly.html")
admin_archive = _page("admin_archive.html")
api_docs = _page("api_docs.html")


async def manifest(request: web.Request) -> web.Response:
    """The web app manifest, with its registered media type so browsers offer to install."""
    return web.Response(body=MANIFEST_PATH.read_bytes(), content_type="application/manifest+json")


async def service_worker(request: web.Request) -> web.Response:
    """The service worker (push notifications), served at the root so its scope is the whole site."""
    return web.Response(body=SERVICE_WORKER_PATH.read_bytes(), content_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})
async def favicon(request: web.Request) -> web.FileResponse:
    """/favicon.ico, which browsers ask for by themselves (pages also link the SVG icon)."""
    return web.FileResponse(FAVICON_PATH, headers={"Cache-Control": "public, max-age=86400"})
