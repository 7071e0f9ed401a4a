"""The ground floor: config validation, migrations, health, errors, OpenAPI."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from server import db
from server.config import ROOT, ConfigError, load_settings


def test_config_env_override_and_validation(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("holds:\n  ttl_seconds: 300\n")
    assert load_settings(cfg, env={}).holds.ttl_seconds == 300
    assert load_settings(cfg, env={"HOUSEFUL_HOLDS_TTL_SECONDS": "90"}).holds.ttl_seconds == 90
    with pytest.raises(ConfigError, match="holds.ttl_seconds"):
        load_settings(cfg, env={"HOUSEFUL_HOLDS_TTL_SECONDS": "-1"})
    with pytest.raises(ConfigError, match="database.url"):
        load_settings(cfg, env={"HOUSEFUL_DATABASE_URL": "postgresql://h/bad-name;x"})
    with pytest.raises(ConfigError, match="holds.ttl_secs"):
        cfg.write_text("holds:\n  ttl_secs: 3\n")
        load_settings(cfg, env={})
    cfg.write_text("websocket:\n  tick_ms: fast\n")
    with pytest.raises(ConfigError, match="websocket.tick_ms"):
        load_settings(cfg, env={})
    cfg.write_text("catalog:\n  default_time_zone: America/New_York\n")
    assert load_settings(cfg, env={}).catalog.default_time_zone == "America/New_York"
    for bad in ("Europe/Londres", "localtime", "../etc/passwd", ""):
        with pytest.raises(ConfigError, match="catalog.default_time_zone"):
            load_settings(cfg, env={"HOUSEFUL_CATALOG_DEFAULT_TIME_ZONE": bad})


def test_a_short_jwt_secret_stops_the_server_at_start(tmp_path: Path) -> None:
    env = {**os.environ, "HOUSEFUL_AUTH_JWT_SECRET": "a" * 31, "HOUSEFUL_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "run.py", "serve", "--port", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "auth.jwt_secret (HOUSEFUL_AUTH_JWT_SECRET): must be at least 32 bytes" in done.stderr
    assert load_settings(env={"HOUSEFUL_AUTH_JWT_SECRET": "a" * 32}).auth.jwt_secret == "a" * 32
    with pytest.raises(ConfigError, match="auth.jwt_secret"):
        load_settings(env={"HOUSEFUL_AUTH_JWT_SECRET": "é" * 15})  # 30 bytes in UTF-8


def test_repo_config_is_valid() -> None:
    settings = load_settings(env={})
    assert settings.holds.max_seats_per_customer == 10


async def test_two_processes_migrating_at_once(base_settings) -> None:
    url = db._with_database(base_settings.database.url, f"houseful_mig_{secrets.token_hex(4)}")
    await db.ensure_database(url)
    try:
        results = await asyncio.gather(*(db.migrate(url) for _ in range(4)))
        applied = sorted(sum(results, []))
        assert applied == sorted(p.stem for p in db.migration_files())
        conn = await asyncpg.connect(url)
        try:
            versions = await conn.fetch("SELECT version FROM schema_migration")
            assert len(versions) == len(db.migration_files())
        finally:
            await conn.close()
    finally:
        await db.drop_database(url)


async def test_health_ok(client, clock) -> None:
    resp = await client.get("/api/health")
    assert resp.status == 200
    body = await resp.json()
    assert {k: body[k] for k in ("status", "postgres", "redis")} == {"status": "ok", "postgres": "ok", "redis": "ok"}
    # The server says what time it thinks it is: its clock (the test's), not the wall's luck.
    assert abs(dt.datetime.fromisoformat(body["time"]).timestamp() - clock.time()) < 5


async def test_unknown_route_is_json_404(client) -> None:
    resp = await client.get("/api/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_security_headers(client) -> None:
    resp = await client.get("/api/health")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    # No software version for an attacker to look up, on the API, pages, errors and static files.
    for path in ("/api/health", "/", "/api/nope", "/static/css/app.css"):
        server = (await client.get(path)).headers.get("Server", "")
        assert "aiohttp" not in server and "Python" not in server, path


async def test_openapi_lists_every_api_route(client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    routes = {
        (r.method.lower(), r.resource.canonical)
        for r in client.app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method != "HEAD"
        and r.resource.canonical != "/api/docs"  # the HTML reference drawn from this document
    }
    import re

    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    normalised = {(m, re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", p)) for m, p in routes}
    assert normalised <= documented, normalised - documented
    for ops in doc["paths"].values():
        for op in ops.values():
            assert op["summary"] and op["responses"]


async def test_openapi_document_is_valid_openapi_31(client) -> None:
    from openapi_spec_validator import validate

    doc = await (await client.get("/api/openapi.json")).json()
    validate(doc)  # raises with the offending path if the document breaks the OpenAPI 3.1 schema
    order = doc["paths"]["/api/orders/{key}"]["get"]["parameters"][0]
    assert order["schema"]["type"] == "string"  # order keys are not numbers
    assert doc["paths"]["/api/movies/{id}"]["get"]["parameters"][0]["schema"]["type"] == "integer"


def test_database_names_are_plain_identifiers() -> None:
    assert db.database_name("postgresql://postgres@127.0.0.1:5432/houseful_test_1") == "houseful_test_1"
    with pytest.raises(ConfigError, match="database.url"):
        db.database_name('postgresql://postgres@127.0.0.1:5432/x";DROP TABLE app_user;--')
