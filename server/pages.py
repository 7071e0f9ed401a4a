"""Page handlers: render a template with the least server data; ES modules fetch the rest.

Pages never enforce roles themselves: the access cookie may have expired while the refresh
cookie is still good, so the page's script asks the API (which refreshes silently) and shows a
log-in prompt on 401/403. The API is where roles are enforced.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiohttp import web

from server.web_setup import STATIC_DIR, render_page

MANIFEST_PATH = STATIC_DIR / "manifest.webmanifest"
SERVICE_WORKER_PATH = STATIC_DIR / "sw.js"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _page(template: str, *params: str) -> Handler:
    """A handler rendering `template` with the named URL parameters (already regex-checked by the route)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        data: dict[str, Any] = {name: request.match_info[name] for name in params}
        return render_page(template, request, data)

    handler.__name__ = f"page_{template.removesuffix('.html').replace('/', '_')}"
    return handler


home = _page("home.html")
movie = _page("movie.html", "movie_id")
cinema = _page("cinema.html", "cinema_id")
screening = _page("screening.html", "screening_id")
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


async def manifest(request: web.Request) -> web.Response:
    """The web app manifest, with its registered media type so browsers offer to install."""
    return web.Response(body=MANIFEST_PATH.read_bytes(), content_type="application/manifest+json")


async def service_worker(request: web.Request) -> web.Response:
    """The service worker (push notifications), served at the root so its scope is the whole site."""
    return web.Response(body=SERVICE_WORKER_PATH.read_bytes(), content_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})
