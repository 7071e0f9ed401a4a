"""Page handlers: render a template with the least server data; ES modules fetch the rest."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server.web_setup import STATIC_DIR, render_page

MANIFEST_PATH = STATIC_DIR / "manifest.webmanifest"


def _page(template: str, **data: Any) -> Any:
    """A handler that renders `template` with fixed data."""

    async def handler(request: web.Request) -> web.Response:
        return render_page(template, request, data)

    handler.__name__ = f"page_{template.replace('/', '_').removesuffix('.html')}"
    return handler


home = _page("home.html")


async def manifest(request: web.Request) -> web.Response:
    """The web app manifest, with its registered media type so browsers offer to install."""
    return web.Response(body=MANIFEST_PATH.read_bytes(), content_type="application/manifest+json")
