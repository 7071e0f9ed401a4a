"""Password reset over the API, with the email read from a real SMTP server."""
from __future__ import annotations

import re
from typing import Any

from tests.support.mail import SmtpSink, parts

PASSWORD = "popcorn-2024"
NEW_PASSWORD = "new-popcorn-77"


async def _register(client: Any, email: str) -> dict[str, Any]:
    resp = await client.post("/api/auth/register", json={"email": email, "name": "Rosa", "password": PASSWORD})
    assert resp.status == 201, await resp.text()
    client.session.cookie_jar.clear()  # the test acts as an API client from here
    return await resp.json()


def _token(message: Any) -> str:
    match = re.search(r"/reset-password#token=([A-Za-z0-9_-]+)", parts(message)["text"])
    assert match, parts(message)["text"]
    return match.group(1)


async def test_asking_answers_alike_for_unknown_addresses_and_mails_a_single_use_link(
        mail_client: Any, smtp: SmtpSink, pg: Any) -> None:
    session = await _register(mail_client, "rosa@example.test")
    unknown = await mail_client.post("/api/auth/reset", json={"email": "nobody@example.test"})
    known = await mail_client.post("/api/auth/reset", json={"email": "  Rosa@Example.test "})
    assert unknown.status == known.status == 202
    assert await unknown.json() == await known.json()  # nothing tells the two apart
    [message] = await smtp.wait_for(1)
    assert message["To"] == "rosa@example.test" and message["Subject"] == "Reset your Houseful password"
    token = _token(message)
    assert f"https://tickets.example.test/reset-password#token={token}" in parts(message)["html"]
    # PostgreSQL keeps no working link: only the token's hash.
    stored = await pg.fetchrow("SELECT nonce, token_hash FROM password_reset")
    assert token not in (stored["nonce"], stored["token_hash"])
    resp = await mail_client.post("/api/auth/reset/complete", json={"token": token, "password": NEW_PASSWORD})
    assert resp.status == 200, await resp.text()
    # Every session of the account ended; the new password works, the old one does not.
    resp = await mail_client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert resp.status == 401
    assert (await mail_client.post("/api/auth/login", json={"email": "rosa@example.test", "password": PASSWORD})).status == 401
    assert (await mail_client.post("/api/auth/login",
                                   json={"email": "rosa@example.test", "password": NEW_PASSWORD})).status == 200
    mail_client.session.cookie_jar.clear()
    # The link works once.
    again = await mail_client.post("/api/auth/reset/complete", json={"token": token, "password": "another-pass-9"})
    assert again.status == 400 and (await again.json())["error"]["code"] == "invalid_token"
    actions = [r["action"] for r in await pg.fetch("SELECT action FROM user_action ORDER BY id")]
    assert "password_reset_asked" in actions and "password_reset" in actions


async def test_a_link_expires_and_a_newer_one_replaces_it(client: Any, clock: Any, pg: Any, settings: Any) -> None:
    from server import keys
    from server.domain.resets import reset_secret, reset_token

    await _register(client, "sam@example.test")
    secret = reset_secret(client.app[keys.JWT_SECRET])
    for _ in range(2):
        assert (await client.post("/api/auth/reset", json={"email": "sam@example.test"})).status == 202
    old, new = [reset_token(secret, r["nonce"]) for r in await pg.fetch("SELECT nonce FROM password_reset ORDER BY id")]
    resp = await client.post("/api/auth/reset/complete", json={"token": old, "password": NEW_PASSWORD})
    assert resp.status == 400  # the newer link ended the older one
    clock.advance(settings.messages.reset_minutes * 60 + 1)
    resp = await client.post("/api/auth/reset/complete", json={"token": new, "password": NEW_PASSWORD})
    assert resp.status == 400 and "expired" in (await resp.json())["error"]["message"]


async def test_bad_input_and_throttling(make_client: Any) -> None:
    client = await make_client(messages={"resets_per_hour": 2})
    await _register(client, "kim@example.test")
    resp = await client.post("/api/auth/reset", json={"email": "not an email"})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "email"
    resp = await client.post("/api/auth/reset", json={"email": "kim@example.test", "admin": True})
    assert resp.status == 400
    for _ in range(2):
        assert (await client.post("/api/auth/reset", json={"email": "kim@example.test"})).status == 202
    resp = await client.post("/api/auth/reset", json={"email": "kim@example.test"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    resp = await client.post("/api/auth/reset/complete", json={"token": "x" * 43, "password": "short"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "weak_password"
    resp = await client.post("/api/auth/reset/complete", json={"token": "x" * 43, "password": NEW_PASSWORD})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_token"
