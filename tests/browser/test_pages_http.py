"""Pages over plain HTTP: they render, escape, and carry the security headers (no browser needed)."""
from __future__ import annotations

from typing import Any


async def test_home_renders_with_csp_and_manifest(client: Any) -> None:
    resp = await client.get("/", headers={"Accept": "text/html"})
    assert resp.status == 200
    html = await resp.text()
    assert "<title>What's on · Houseful</title>" in html
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "<script>" not in html and " onclick=" not in html and " style=" not in html
    manifest = await client.get("/manifest.webmanifest")
    assert manifest.content_type == "application/manifest+json"
    assert (await manifest.json())["start_url"] == "/"
