"""Page rendering: aiohttp-jinja2 with autoescaping, and what every template may use."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server import keys
from server.config import ROOT
from server.domain.tokens import SESSION_HINT_COOKIE

TEMPLATES_DIR: Path = ROOT / "templates"
STATIC_DIR: Path = ROOT / "static"


def _static_version() -> str:
    """A cache-busting token for static URLs: the newest static file's mtime."""
    try:
        return str(int(max(p.stat().st_mtime for p in STATIC_DIR.rglob("*") if p.is_file())))
    except ValueError:
        return "0"


def page_context(request: web.Request) -> dict[str, Any]:
    """Variables every page gets: the caller (from a still-valid access cookie), whether a session
    may exist at all (a guest's page then asks no API who they are), the path, and the server's
    now (pages decide "today" from it, never from the browser's clock)."""
    user = request.get(keys.USER)
    return {"user": user, "role": user.role if user is not None else None, "path": request.path,
            "session": user is not None or SESSION_HINT_COOKIE in request.cookies,
            "now": request.app[keys.CLOCK].now().isoformat()}


def render_page(template: str, request: web.Request, context: Mapping[str, Any] | None = None,
                status: int = 200) -> web.Response:
    """Render a template extending base.html with the per-request variables it expects."""
    return aiohttp_jinja2.render_template(
        template, request, {**page_context(request), **(context or {})}, status=status
    )


def setup_web(app: web.Application) -> None:
    """Install the Jinja2 environment (autoescape on for every template) on the app."""
    # No aiohttp_jinja2 context processors: their middleware stores a str request key, which
    # aiohttp 3.14 warns about (warnings are errors in tests); render_page adds the same data.
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    env.globals["static_version"] = _static_version()
    checkout = app[keys.SETTINGS].checkout
    env.globals["currency"] = checkout.currency
