"""Behind a load balancer the client's address comes from X-Forwarded-For, from trusted proxies only."""
from __future__ import annotations

import ipaddress

import pytest

from server.forwarded import client_address

PASSWORD = "correct horse 42"
PROXIES = (ipaddress.ip_network("10.0.0.0/24"),)


@pytest.mark.parametrize(("peer", "header", "client"), [
    ("10.0.0.5", ["203.0.113.7"], "203.0.113.7"),                     # the proxy names the client
    ("10.0.0.5", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),       # a made-up entry to the left is ignored
    ("10.0.0.5", ["203.0.113.7, 10.0.0.9"], "203.0.113.7"),           # through two proxies
    ("192.0.2.50", ["203.0.113.7"], "192.0.2.50"),                    # not a proxy: its header is not believed
    ("10.0.0.5", [], "10.0.0.5"),                                     # nothing forwarded
    ("10.0.0.5", ["not-an-ip"], "10.0.0.5"),                          # garbage proves nothing
])
def test_client_address(peer: str, header: list[str], client: str) -> None:
    assert client_address(peer, header, PROXIES) == client


async def _register(client, email: str, forwarded: str):
    resp = await client.post("/api/auth/register", json={"email": email, "name": "U", "password": PASSWORD},
                             headers={"X-Forwarded-For": forwarded})
    client.session.cookie_jar.clear()
    return resp


async def test_rate_limits_count_the_client_behind_a_trusted_proxy(make_client) -> None:
    client = await make_client(auth={"registrations_per_hour": 1}, server={"trusted_proxies": ["127.0.0.0/8"]})
    assert (await _register(client, "a@example.test", "203.0.113.1")).status == 201
    assert (await _register(client, "b@example.test", "203.0.113.2")).status == 201  # another client
    assert (await _register(client, "c@example.test", "203.0.113.1")).status == 429  # the first, again


async def test_a_forwarded_header_from_anyone_else_changes_nothing(make_client) -> None:
    client = await make_client(auth={"registrations_per_hour": 1})
    assert (await _register(client, "a@example.test", "203.0.113.1")).status == 201
    assert (await _register(client, "b@example.test", "203.0.113.2")).status == 429  # still one address
