"""Web Push end to end: a local push service receives the notifications and decrypts them.

The test plays the browser: it makes a P-256 key pair and an auth secret as a browser does,
subscribes through the API, and its push endpoint (a real HTTP server) decrypts each payload
(RFC 8291, aes128gcm) and checks the VAPID signature against the server's public key.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from typing import Any, AsyncIterator

import http_ece
import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.support.checkout import new_order, pay, wait_status
from tests.support.mail import SmtpSink
from tests.support.stores import free_port


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A browser's side of a push subscription: its keys, and what its push service delivered."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint
        self.received: list[dict[str, Any]] = []

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


def check_vapid(header: str, audience: str) -> dict[str, Any]:
    """The VAPID JWT's claims after checking its ES256 signature with the key it names."""
    assert header.startswith("vapid ")
    fields = dict(part.strip().split("=", 1) for part in header[6:].split(","))
    token, public = fields["t"], unb64url(fields["k"])
    head, claims, signature = token.split(".")
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID signature does not verify") from None
    decoded = json.loads(unb64url(claims))
    assert decoded["aud"] == audience
    return {**decoded, "k": fields["k"]}


@pytest.fixture
async def push_service() -> AsyncIterator[Any]:
    """A local push service: /push/<name> delivers to a registered browser, /gone/<name> answers 410."""
    port = free_port()
    browsers: dict[str, Browser] = {}
    headers: list[Any] = []

    async def deliver(request: web.Request) -> web.Response:
        browser = browsers[request.match_info["name"]]
        headers.append(request.headers.copy())  # case-insensitive, as HTTP headers are
        browser.received.append(browser.decrypt(await request.read()))
        return web.Response(status=201)

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410)

    app = web.Application()
    app.router.add_post("/push/{name}", deliver)
    app.router.add_post("/gone/{name}", gone)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    def browser(name: str, path: str = "push") -> Browser:
        browsers[name] = Browser(f"http://127.0.0.1:{port}/{path}/{name}")
        return browsers[name]

    browser.headers = headers  # type: ignore[attr-defined]
    browser.origin = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield browser
    await runner.cleanup()


@pytest.fixture
async def push_client(make_client: Any, smtp: SmtpSink) -> Any:
    return await make_client(jobs={"worker_in_node": True, "poll_seconds": 0.2}, mail=smtp.settings(),
                             push={"allowed_hosts": ["127.0.0.1"], "allow_http": True})


async def test_a_paid_order_is_pushed_encrypted_and_signed_to_every_subscribed_browser(
        push_client: Any, push_service: Any, smtp: SmtpSink, make_user: Any, make_screening: Any, pg: Any) -> None:
    user = await make_user()
    phone, laptop, old = push_service("phone"), push_service("laptop"), push_service("old", path="gone")
    for browser in (phone, laptop, old):
        resp = await push_client.post("/api/me/push-subscriptions", json=browser.subscription(), headers=user["headers"])
        assert resp.status == 201, await resp.text()
    resp = await push_client.patch("/api/me/notifications", json={"push": True}, headers=user["headers"])
    assert resp.status == 200 and (await resp.json())["push_devices"] == 3
    settings = await (await push_client.get("/api/me/notifications", headers=user["headers"])).json()

    sc = await make_screening()
    created = await new_order(push_client, user, sc["screening_id"], [sc["seats"]["A1"], sc["seats"]["A2"]])
    await pay(push_client, created)
    await wait_status(push_client, user, created["order_key"], {"paid"})
    await smtp.wait_for(1)  # the receipt is emailed as well

    async def pushed() -> bool:
        return await pg.fetchval("SELECT status FROM message WHERE channel = 'push'") == "sent"
    await _until(pushed)
    for browser in (phone, laptop):
        [note] = browser.received
        assert note["title"] == "Tickets confirmed" and "Test Movie" in note["body"] and "2 seats" in note["body"]
        assert note["url"] == f"/orders/{created['order_key']}"
    for sent in push_service.headers:
        assert sent["Content-Encoding"] == "aes128gcm" and int(sent["TTL"]) == 86_400
        claims = check_vapid(sent["Authorization"], push_service.origin)
        assert claims["sub"] == "mailto:tickets@houseful.local" and claims["k"] == settings["push_key"]
    # The browser whose push service said 410 Gone is forgotten.
    endpoints = [r["endpoint"] for r in await pg.fetch("SELECT endpoint FROM push_subscription ORDER BY id")]
    assert endpoints == [phone.endpoint, laptop.endpoint]


async def _until(check: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "it did not happen in time"
        await asyncio.sleep(0.1)


async def test_push_follows_the_settings_and_only_known_push_services_are_accepted(
        client: Any, make_user: Any, pg: Any) -> None:
    user = await make_user()
    body = await (await client.get("/api/me/notifications", headers=user["headers"])).json()
    assert {k: body[k] for k in ("email", "push", "remind_day_before", "remind_hours", "push_devices")} == {
        "email": True, "push": False, "remind_day_before": True, "remind_hours": 2, "push_devices": 0}
    evil = {"endpoint": "https://evil.example/collect", "keys": {"p256dh": b64url(b"\x04" + b"1" * 64),
                                                                "auth": b64url(b"a" * 16)}}
    resp = await client.post("/api/me/push-subscriptions", json=evil, headers=user["headers"])
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "endpoint"
    plain_http = {**evil, "endpoint": "http://fcm.googleapis.com/fcm/send/x"}
    assert (await client.post("/api/me/push-subscriptions", json=plain_http, headers=user["headers"])).status == 400
    bad_key = {**evil, "endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": "abc", "auth": "abc"}}
    resp = await client.post("/api/me/push-subscriptions", json=bad_key, headers=user["headers"])
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "keys.p256dh"
    resp = await client.patch("/api/me/notifications", json={"remind_hours": 5}, headers=user["headers"])
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "remind_hours"
    resp = await client.patch("/api/me/notifications", json={"email": False, "remind_hours": 0},
                              headers=user["headers"])
    assert resp.status == 200 and (await resp.json())["email"] is False
    assert await pg.fetchval("SELECT remind_hours FROM notification_settings") == 0
    assert (await client.get("/api/me/notifications")).status == 401
