"""Accounts: register, login, sessions (bearer and cookies), throttling, profile, first admin."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from server import db
from server.domain import accounts
from server.errors import RateLimited
from server.queries import load_queries

SQL = load_queries().accounts  # the same loader the app uses
PASSWORD = "correct horse 42"


async def _register(client: Any, email: str = "Ada@Example.test", **extra: Any) -> dict[str, Any]:
    body = {"email": email, "name": "Ada Lovelace", "password": PASSWORD, **extra}
    resp = await client.post("/api/auth/register", json=body)
    assert resp.status == 201, await resp.text()
    # These tests speak as an API client; cookie behaviour has its own test.
    client.session.cookie_jar.clear()
    return await resp.json()


def _bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def _error(resp: Any) -> dict[str, Any]:
    return (await resp.json())["error"]


async def _actions(pg: Any, action: str) -> list[dict[str, Any]]:
    rows = await pg.fetch("SELECT user_id, details, ip FROM user_action WHERE action = $1 ORDER BY id", action)
    return [{"user_id": r["user_id"], "details": orjson.loads(r["details"]), "ip": r["ip"]} for r in rows]


async def test_register_then_me(client, pg) -> None:
    session = await _register(client, phone="+44 20 7946 0000")
    assert session["user"]["email"] == "ada@example.test"
    assert session["user"]["role"] == "customer"
    assert session["token_type"] == "Bearer" and session["refresh_token"]
    resp = await client.get("/api/me", headers=_bearer(session))
    assert resp.status == 200
    me = await resp.json()
    assert (me["email"], me["name"], me["phone"]) == ("ada@example.test", "Ada Lovelace", "+44 20 7946 0000")
    assert "password_hash" not in me
    stored = await pg.fetchval("SELECT password_hash FROM app_user WHERE id = $1", me["id"])
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert [a["user_id"] for a in await _actions(pg, "register")] == [me["id"]]


async def test_duplicate_email_is_409_whatever_the_case(client) -> None:
    await _register(client)
    resp = await client.post(
        "/api/auth/register", json={"email": " ADA@example.TEST ", "name": "Imposter", "password": PASSWORD}
    )
    assert resp.status == 409
    assert await _error(resp) == {"code": "email_taken", "message": "An account with this email already exists.",
                                  "field": "email"}


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "invalid_json", None),
        (b"", 400, "invalid_json", None),
        ({"email": "a@b.test", "name": "A", "password": PASSWORD, "admin": True}, 400, "invalid", "admin"),
        ({"email": "a@b.test", "name": 5, "password": PASSWORD}, 400, "invalid", "name"),
        ({"email": "a@b.test", "name": "A"}, 400, "invalid", "password"),
        ({"email": "a@b.test", "name": "A", "password": "short1"}, 400, "weak_password", "password"),
        ({"email": "a@b.test", "name": "A", "password": "onlyletters"}, 400, "weak_password", "password"),
        ({"email": "a@b.test", "name": "A", "password": "1234567890"}, 400, "weak_password", "password"),
        ({"email": "a@b.test", "name": "A", "password": "a1" * 129}, 400, "weak_password", "password"),
        ({"email": "not-an-email", "name": "A", "password": PASSWORD}, 400, "invalid", "email"),
        ({"email": "a@b", "name": "A", "password": PASSWORD}, 400, "invalid", "email"),
        ({"email": "a@b.test", "name": "   ", "password": PASSWORD}, 400, "invalid", "name"),
        ({"email": "a@b.test", "name": "A", "password": PASSWORD, "phone": "call me"}, 400, "invalid", "phone"),
        ([1, 2], 400, "invalid", None),
    ],
)
async def test_register_rejects_bad_input(client, pg, body, status, code, field) -> None:
    if isinstance(body, bytes):
        kwargs = {"data": body, "headers": {"Content-Type": "application/json"}}
    else:
        kwargs = {"json": body}
    resp = await client.post("/api/auth/register", **kwargs)
    assert resp.status == status
    error = await _error(resp)
    assert error["code"] == code
    assert error.get("field") == field
    assert await pg.fetchval("SELECT count(*) FROM app_user") == 0


async def test_wrong_password_and_unknown_email_look_the_same(client, pg) -> None:
    await _register(client)
    wrong = await client.post("/api/auth/login", json={"email": "ada@example.test", "password": "nope12345"})
    unknown = await client.post("/api/auth/login", json={"email": "bob@example.test", "password": PASSWORD})
    assert wrong.status == unknown.status == 401
    assert await _error(wrong) == await _error(unknown) == {"code": "bad_credentials",
                                                            "message": "Wrong email or password."}
    failures = await _actions(pg, "login_failed")
    assert [f["details"]["reason"] for f in failures] == ["wrong_password", "unknown_email"]
    assert failures[0]["user_id"] is not None and failures[1]["user_id"] is None


async def test_login_then_logout_revokes_the_refresh_token(client, pg) -> None:
    await _register(client)
    resp = await client.post("/api/auth/login", json={"email": "ADA@example.test", "password": PASSWORD})
    assert resp.status == 200
    session = await resp.json()
    client.session.cookie_jar.clear()
    assert (await client.get("/api/me", headers=_bearer(session))).status == 200
    resp = await client.post("/api/auth/logout", headers=_bearer(session),
                             json={"refresh_token": session["refresh_token"]})
    assert resp.status == 204
    resp = await client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert resp.status == 401
    assert (await _error(resp))["code"] == "session_expired"
    assert [a["user_id"] for a in await _actions(pg, "login")] == [session["user"]["id"]]
    assert [a["user_id"] for a in await _actions(pg, "logout")] == [session["user"]["id"]]


async def test_refresh_rotates_and_reuse_revokes_the_family(client, pg) -> None:
    first = await _register(client)
    resp = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert resp.status == 200
    second = await resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/me", headers=_bearer(second))).status == 200
    # The rotated-out token coming back means a copy leaked: it fails, and so does its successor.
    replay = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status == 401
    after = await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status == 401
    assert len(await _actions(pg, "refresh_reuse")) == 1


async def test_refresh_rereads_the_role(client, pg) -> None:
    session = await _register(client)
    await pg.execute("UPDATE app_user SET role = 'admin' WHERE id = $1", session["user"]["id"])
    # The access token still says customer until it is refreshed.
    assert (await client.get("/api/users", headers=_bearer(session))).status == 403
    resp = await client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    fresh = await resp.json()
    assert fresh["user"]["role"] == "admin"
    assert (await client.get("/api/users", headers=_bearer(fresh))).status == 200


@pytest.mark.parametrize("token", ["", "garbage", "a" * 20 + "." + "b" * 40, "x" * 300])
async def test_refresh_with_bad_token_is_401(client, token) -> None:
    resp = await client.post("/api/auth/refresh", json={"refresh_token": token})
    assert resp.status == 401


async def test_refresh_rejects_unknown_body_fields(client) -> None:
    resp = await client.post("/api/auth/refresh", json={"token": "x"})
    assert resp.status == 400
    assert (await _error(resp))["code"] == "invalid"


def _cookie_header(resp: Any, name: str) -> str:
    return next(v for v in resp.headers.getall("Set-Cookie") if v.startswith(name + "="))


async def test_browser_cookie_session(client) -> None:
    origin = {"Origin": f"http://{client.host}:{client.port}"}
    resp = await client.post("/api/auth/register",
                             json={"email": "cookie@example.test", "name": "C", "password": PASSWORD})
    access, refresh = _cookie_header(resp, "houseful_access"), _cookie_header(resp, "houseful_refresh")
    assert "HttpOnly" in access and "SameSite=Lax" in access and "Path=/;" in access + ";"
    assert "Max-Age=900" in access and "Secure" not in access
    assert "HttpOnly" in refresh and "SameSite=Strict" in refresh and "Path=/api/auth" in refresh
    assert (await client.get("/api/me")).status == 200
    # A cookie-authenticated write from another site (or no Origin at all) is refused.
    resp = await client.patch("/api/me", json={"name": "Mallory"})
    assert resp.status == 403 and (await _error(resp))["code"] == "csrf"
    resp = await client.patch("/api/me", json={"name": "Mallory"}, headers={"Origin": "http://evil.test"})
    assert resp.status == 403
    resp = await client.patch("/api/me", json={"name": "Cookie Monster"}, headers=origin)
    assert resp.status == 200 and (await resp.json())["user"]["name"] == "Cookie Monster"
    # Refresh through the cookie: new cookies, and the refresh token never reaches the page.
    resp = await client.post("/api/auth/refresh", headers=origin)
    assert resp.status == 200
    body = await resp.json()
    assert "refresh_token" not in body and body["user"]["email"] == "cookie@example.test"
    assert _cookie_header(resp, "houseful_refresh") != refresh
    resp = await client.post("/api/auth/logout", headers=origin)
    assert resp.status == 204
    assert (await client.get("/api/me")).status == 401
    assert (await client.post("/api/auth/refresh")).status == 401


async def test_login_from_another_site_sets_no_session(client) -> None:
    await _register(client)
    login = orjson.dumps({"email": "ada@example.test", "password": PASSWORD})
    # What a plain HTML form on evil.example can send: text/plain, no CORS preflight.
    resp = await client.post("/api/auth/login", data=login,
                             headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert resp.status == 403 and (await _error(resp))["code"] == "csrf"
    assert not resp.headers.getall("Set-Cookie", [])
    resp = await client.post("/api/auth/register", json={"email": "x@example.test", "name": "X", "password": PASSWORD},
                             headers={"Origin": "http://evil.example"})
    assert resp.status == 403 and not resp.headers.getall("Set-Cookie", [])
    # Same site, but not JSON: refused by type, with the field at fault.
    resp = await client.post("/api/auth/login", data=login, headers={"Content-Type": "text/plain"})
    assert resp.status == 415 and not resp.headers.getall("Set-Cookie", [])
    assert await _error(resp) == {"code": "unsupported_media_type", "field": "Content-Type",
                                  "message": "Send the body as Content-Type: application/json."}
    resp = await client.post("/api/auth/login", data={"email": "ada@example.test", "password": PASSWORD})
    assert resp.status == 415
    resp = await client.post("/api/auth/login", data=login, headers={
        "Content-Type": "application/json; charset=utf-8", "Origin": f"http://{client.host}:{client.port}"})
    assert resp.status == 200


async def test_secure_cookies_when_configured(make_client) -> None:
    client = await make_client(auth={"cookie_secure": True})
    resp = await client.post("/api/auth/register",
                             json={"email": "s@example.test", "name": "S", "password": PASSWORD})
    assert "Secure" in _cookie_header(resp, "houseful_access")
    assert "Secure" in _cookie_header(resp, "houseful_refresh")


async def test_login_throttled_per_ip_even_with_the_right_password(make_client) -> None:
    client = await make_client(auth={"login_ip_max_failures": 3, "login_window_seconds": 60})
    await _register(client)
    for n in range(3):
        resp = await client.post("/api/auth/login", json={"email": f"guess{n}@example.test", "password": "x1234567"})
        assert resp.status == 401
    resp = await client.post("/api/auth/login", json={"email": "ada@example.test", "password": PASSWORD})
    assert resp.status == 429
    assert (await _error(resp))["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


async def test_login_throttled_per_email_across_addresses(settings, redis) -> None:
    settings = settings.replace(auth={"login_email_max_failures": 3})
    pool = await db.create_pool(settings)
    try:
        await accounts.register(pool, SQL, redis, settings, email="ada@example.test", name="Ada", password=PASSWORD)
        await accounts.register(pool, SQL, redis, settings, email="bob@example.test", name="Bob", password=PASSWORD)
        for n in range(3):
            with pytest.raises(accounts.BadCredentials):
                await accounts.login(pool, SQL, redis, settings, email="ada@example.test", password="wrong123",
                                     ip=f"192.0.2.{n}")
        with pytest.raises(RateLimited) as caught:
            await accounts.login(pool, SQL, redis, settings, email="ADA@example.test", password=PASSWORD,
                                 ip="192.0.2.99")
        assert 1 <= caught.value.retry_after <= settings.auth.login_email_window_seconds
        # Another account from the same fresh address is not affected.
        user = await accounts.login(pool, SQL, redis, settings, email="bob@example.test", password=PASSWORD,
                                    ip="192.0.2.99")
        assert user["email"] == "bob@example.test"
    finally:
        await pool.close()


async def test_parallel_wrong_logins_are_counted_before_the_password_check(make_client) -> None:
    client = await make_client(auth={"login_max_failures": 10})
    await _register(client)
    wrong = {"email": "ada@example.test", "password": "guess1234"}
    replies = await asyncio.gather(*(client.post("/api/auth/login", json=wrong) for _ in range(40)))
    statuses = sorted(r.status for r in replies)
    assert statuses == [401] * 10 + [429] * 30


async def test_strangers_cannot_lock_the_owner_out_before_the_email_limit(settings, redis) -> None:
    settings = settings.replace(auth={"login_max_failures": 3, "login_email_max_failures": 8})
    pool = await db.create_pool(settings)
    try:
        await accounts.register(pool, SQL, redis, settings, email="ada@example.test", name="Ada", password=PASSWORD)
        for n in range(4):
            with pytest.raises(accounts.BadCredentials):
                await accounts.login(pool, SQL, redis, settings, email="ada@example.test", password="wrong123",
                                     ip="198.51.100.7" if n < 3 else "198.51.100.8")
        # The guessing address is locked for this email, even with the right password ...
        with pytest.raises(RateLimited):
            await accounts.login(pool, SQL, redis, settings, email="ada@example.test", password=PASSWORD,
                                 ip="198.51.100.7")
        # ... while the owner's own address still logs in, and a good login gives its attempt back.
        for _ in range(5):
            user = await accounts.login(pool, SQL, redis, settings, email="ada@example.test", password=PASSWORD,
                                        ip="192.0.2.1")
        assert user["email"] == "ada@example.test"
        # Four more failures from elsewhere fill the email's slower window: now everyone waits.
        for n in range(4):
            with pytest.raises(accounts.BadCredentials):
                await accounts.login(pool, SQL, redis, settings, email="ada@example.test", password="wrong123",
                                     ip=f"203.0.113.{n}")
        with pytest.raises(RateLimited):
            await accounts.login(pool, SQL, redis, settings, email="ada@example.test", password=PASSWORD,
                                 ip="192.0.2.1")
    finally:
        await pool.close()


async def test_registrations_per_ip_are_limited(make_client) -> None:
    client = await make_client(auth={"registrations_per_hour": 2})
    for n in range(2):
        await _register(client, email=f"user{n}@example.test")
    resp = await client.post("/api/auth/register",
                             json={"email": "user9@example.test", "name": "U", "password": PASSWORD})
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0


async def test_update_profile_and_change_password(client, pg) -> None:
    session = await _register(client, phone="0123 456 789")
    headers = _bearer(session)
    resp = await client.patch("/api/me", json={"name": "  Countess  ", "phone": None}, headers=headers)
    assert resp.status == 200
    assert (await resp.json())["user"] | {} == {**session["user"], "name": "Countess", "phone": None}
    resp = await client.patch("/api/me", json={"password": "newpass99"}, headers=headers)
    assert resp.status == 400 and (await _error(resp))["field"] == "current_password"
    resp = await client.patch("/api/me", json={"password": "newpass99", "current_password": "bad12345"},
                              headers=headers)
    assert resp.status == 400 and (await _error(resp))["code"] == "wrong_password"
    resp = await client.patch("/api/me", json={"password": "weak", "current_password": PASSWORD}, headers=headers)
    assert resp.status == 400 and (await _error(resp))["code"] == "weak_password"
    resp = await client.patch("/api/me", json={"password": "newpass99", "current_password": PASSWORD},
                              headers=headers)
    assert resp.status == 200
    fresh = (await resp.json())["session"]
    # Changing the password ends the other sessions; the new one works.
    old = await client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert old.status == 401
    new = await client.post("/api/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert new.status == 200
    login = await client.post("/api/auth/login", json={"email": "ada@example.test", "password": "newpass99"})
    assert login.status == 200
    assert len(await _actions(pg, "profile_update")) == 2


@pytest.mark.parametrize("body", [{}, {"role": "admin"}, {"name": 7}, {"phone": "x"}, {"name": ""}])
async def test_update_profile_rejects_bad_input(client, body) -> None:
    session = await _register(client)
    resp = await client.patch("/api/me", json=body, headers=_bearer(session))
    assert resp.status == 400
    assert (await _error(resp))["code"] == "invalid"


async def test_login_rehashes_outdated_password_hashes(client, make_client, pg) -> None:
    session = await _register(client)
    before = await pg.fetchval("SELECT password_hash FROM app_user WHERE id = $1", session["user"]["id"])
    stronger = await make_client(auth={"argon2_memory_kib": 512})
    resp = await stronger.post("/api/auth/login", json={"email": "ada@example.test", "password": PASSWORD})
    assert resp.status == 200
    after = await pg.fetchval("SELECT password_hash FROM app_user WHERE id = $1", session["user"]["id"])
    assert "m=256," in before and "m=512," in after


def _with_admin(settings: Any, tmp_path: Path, email: str, password: str = "") -> Any:
    return dataclasses.replace(settings.replace(admin={"email": email, "password": password}), data_dir=str(tmp_path))


async def test_first_admin_is_created_once_with_a_password_file(settings, pg, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="server.domain.accounts")
    boot = _with_admin(settings, tmp_path, "Boss@Example.test")
    pool = await db.create_pool(boot)
    try:
        await accounts.ensure_first_admin(pool, boot)
        secret_file = tmp_path / "admin_password"
        password = secret_file.read_text().strip()
        assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
        await accounts.ensure_first_admin(pool, boot)
        assert secret_file.read_text().strip() == password
        user = await accounts.authenticate(pool, SQL, boot, email="boss@example.test", password=password)
        assert user["role"] == "admin"
    finally:
        await pool.close()
    created = [r.getMessage() for r in caplog.records if "created admin" in r.getMessage()]
    assert created == [f"created admin boss@example.test; password in {tmp_path / 'admin_password'}"]
    assert all(password not in r.getMessage() for r in caplog.records)
    assert await pg.fetchval("SELECT count(*) FROM app_user WHERE role = 'admin'") == 1
    assert await pg.fetchval("SELECT count(*) FROM user_action WHERE action = 'admin_created'") == 1


async def test_first_admin_promotes_an_existing_user_with_the_configured_password(
    settings, pg, client, tmp_path, make_user
) -> None:
    await _register(client, email="chief@example.test")
    await make_user("staff")
    boot = _with_admin(settings, tmp_path, "chief@example.test", "configured99")
    pool = await db.create_pool(boot)
    try:
        await accounts.ensure_first_admin(pool, boot)
        user = await accounts.authenticate(pool, SQL, boot, email="chief@example.test", password="configured99")
        assert user["role"] == "admin"
        assert not (tmp_path / "admin_password").exists()
    finally:
        await pool.close()


async def test_no_first_admin_when_one_exists(settings, pg, tmp_path, make_user) -> None:
    await make_user("admin")
    boot = _with_admin(settings, tmp_path, "other@example.test")
    pool = await db.create_pool(boot)
    try:
        await accounts.ensure_first_admin(pool, boot)
    finally:
        await pool.close()
    assert not (tmp_path / "admin_password").exists()
    assert await pg.fetchval("SELECT count(*) FROM app_user WHERE email = 'other@example.test'") == 0


async def test_create_admin_creates_then_promotes_and_resets(settings, pg, client) -> None:
    await _register(client, email="promote@example.test")
    pool = await db.create_pool(settings)
    try:
        await accounts.create_admin(pool, settings, email="promote@example.test", name="P", password="reset1234")
        await accounts.create_admin(pool, settings, email="fresh@example.test", name="F", password="fresh1234")
        for email, password in (("promote@example.test", "reset1234"), ("fresh@example.test", "fresh1234")):
            user = await accounts.authenticate(pool, SQL, settings, email=email, password=password)
            assert user["role"] == "admin"
        with pytest.raises(accounts.passwords.WeakPassword):
            await accounts.create_admin(pool, settings, email="x@example.test", name="X", password="weak")
    finally:
        await pool.close()
    actions = await pg.fetch("SELECT action FROM user_action WHERE action LIKE 'admin_%' ORDER BY id")
    assert [a["action"] for a in actions] == ["admin_promoted", "admin_created"]
