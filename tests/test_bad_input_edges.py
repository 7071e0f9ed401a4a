"""Input that once reached PostgreSQL or hmac and came back as a 500: each is now a 4xx with its field."""
from __future__ import annotations

from typing import Any

import orjson

from server.checkout import payments
from tests.support.catalog import post, venue

PASSWORD = "correct horse 42"


async def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    return (await resp.json())["error"]


async def test_a_nul_character_is_refused_with_its_field(client, make_user) -> None:
    err = await _error(await client.post("/api/auth/login", json={"email": "a\x00@example.test", "password": "x"}),
                       400)
    assert err["field"] == "email" and err["code"] == "invalid"
    err = await _error(await client.post("/api/auth/register", json={
        "email": "ada\x00@example.test", "name": "Ada", "password": PASSWORD}), 400)
    assert err["field"] == "email"
    admin = await make_user("admin")
    err = await _error(await client.get("/api/users?q=%00", headers=admin["headers"]), 400)
    assert err["field"] == "q"
    # The same request without the NUL works: nothing else was wrong with it.
    assert (await client.get("/api/users?q=ada", headers=admin["headers"])).status == 200


async def test_a_sub_normal_coordinate_neither_fails_the_search_nor_poisons_it(client, make_user) -> None:
    admin = await make_user("admin")
    await venue(client, admin, "London")
    cinema = await post(client, admin, "/api/cinemas", {"name": "Null Island", "city": "Nowhere",
                                                        "latitude": -5e-324, "longitude": 5e-324})
    assert (cinema["latitude"], cinema["longitude"]) == (0.0, 0.0)
    resp = await client.get("/api/cinemas?lat=-5e-324&lon=0")
    assert resp.status == 200
    found = (await resp.json())["cinemas"]
    assert [c["name"] for c in found] == ["Null Island", "Houseful London"]
    assert found[0]["distance_km"] == 0
    patched = await client.patch(f"/api/cinemas/{cinema['id']}", json={"latitude": 1e-320},
                                 headers=admin["headers"])
    assert patched.status == 200 and (await patched.json())["latitude"] == 0.0
    assert (await client.get("/api/cinemas?lat=51.5&lon=-2.2e-308")).status == 200


async def test_a_non_ascii_webhook_signature_is_a_bad_signature(client) -> None:
    body = orjson.dumps({"id": "evt_x", "type": payments.AUTHORISED, "created": 1,
                         "data": {"payment_id": "sbx_1", "reference": "NOSUCH", "reason": None}})
    resp = await client.post("/api/payments/webhook", data=body, headers={
        "Content-Type": "application/json", payments.SIGNATURE_HEADER: "t=1,v1=é".encode().decode("latin-1")})
    err = await _error(resp, 400)
    assert err["code"] == "bad_signature"
