"""Browser fixtures: Debian's Chromium driven by Playwright (async) against the real app.

The app runs on a real TCP port (aiohttp's test server) with the run's database and Redis prefix;
each test gets fresh browser contexts, so cookies and sessionStorage never leak between users.
When the test's clock is shifted (tests/support/clocks.py), every browser context's clock is installed at
the same instant (Playwright's clock API), so the page and the server agree on what time it is.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from server.clock import ShiftedClock

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "popcorn-2024"
# Screenshots go to docs/screenshots only when asked (`make screenshots`), so a test run never
# dirties the checkout; otherwise they land in tests/artifacts (git-ignored) for inspection.
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("HOUSEFUL_SCREENSHOTS") else "tests/artifacts")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium (nothing is fetched from the internet)."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
def new_page(browser: Browser, clock: ShiftedClock) -> Callable[..., Awaitable[Page]]:
    """A page in its own context (its own cookies) on the test's clock; page errors fail the test at teardown."""
    contexts: list[BrowserContext] = []

    async def make(*, viewport: dict[str, int] | None = None, **options: Any) -> Page:
        context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, **options)
        if clock.offset:
            # Installed before any page script runs; from there the page's time flows naturally.
            await context.clock.install(time=clock.now())
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "Content Security Policy" in msg.text else None)
        page.js_errors = errors  # type: ignore[attr-defined]
        return page

    return make


@pytest.fixture
def register(pg: asyncpg.Connection) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Register a real account through the API (so it can log in) and set its role in PostgreSQL."""

    async def make(client: Any, role: str = "customer", name: str = "Test Viewer") -> dict[str, Any]:
        email = f"{role}-{secrets.token_hex(4)}@example.test"
        # A cookie-less session: the TestClient's own jar would make the next write cookie-authenticated.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            resp = await http.post(f"{base_url(client)}/api/auth/register",
                                   json={"email": email, "password": PASSWORD, "name": name})
            assert resp.status == 201, await resp.text()
        if role != "customer":
            await pg.execute("UPDATE app_user SET role = $1 WHERE email = $2", role, email)
        return {"email": email, "password": PASSWORD, "role": role}

    return make


async def log_in(page: Page, base: str, user: dict[str, Any]) -> None:
    """Log the page's context in through the API (cookies land in the browser context)."""
    resp = await page.context.request.post(f"{base}/api/auth/login", data={"email": user["email"], "password": user["password"]})
    assert resp.ok, await resp.text()


def base_url(client: Any) -> str:
    """http://127.0.0.1:<port> of a TestClient's server."""
    return str(client.make_url("")).rstrip("/")


async def shoot(page: Page, name: str) -> None:
    """Save a screenshot of the page (docs/screenshots with HOUSEFUL_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
