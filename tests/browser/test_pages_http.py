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


async def test_unknown_things_get_the_styled_not_found_page_and_the_api_json(client: Any, make_screening: Any) -> None:
    made = await make_screening(rows=1, per_row=2)
    html = {"Accept": "text/html"}
    for path, what in [("/screenings/999999", "screening"), ("/movies/999999", "film"), ("/cinemas/999999", "cinema"),
                       ("/checkout/999999", "screening"), ("/admin/auditoriums/999999", "auditorium"),
                       ("/no/such/page", "page"), ("/movies/abc", "page")]:
        resp = await client.get(path, headers=html)
        assert resp.status == 404, path
        text = await resp.text()
        assert f"We could not find that {what}" in text and 'href="/"' in text, path
        assert "text/html" in resp.content_type and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert (await client.get(f"/screenings/{made['screening_id']}", headers=html)).status == 200
    assert (await client.get(f"/movies/{made['movie_id']}", headers=html)).status == 200
    api = await client.get("/api/screenings/999999", headers=html)
    assert api.status == 404 and (await api.json())["error"]["code"] == "not_found"


async def test_favicon_and_the_api_reference_are_served_locally(client: Any) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status == 200 and (await icon.read())[:4] == b"\x00\x00\x01\x00"
    docs = await client.get("/api/docs", headers={"Accept": "text/html"})
    assert docs.status == 200
    page = await docs.text()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "<script>" not in page
    assert "script-src 'self'" in docs.headers["Content-Security-Policy"]
    bundle = await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status == 200
