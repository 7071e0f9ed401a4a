"""Admin over users: 401 vs 403 on every users endpoint, listing and search, audited role changes."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

ENDPOINTS = [
    ("GET", "/api/users", None),
    ("GET", "/api/users/{id}", None),
    ("PATCH", "/api/users/{id}", {"role": "staff"}),
]


async def _call(client: Any, method: str, path: str, body: Any, headers: dict[str, str] | None) -> Any:
    return await client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_users_endpoints_need_an_admin(client, make_user, method, path, body) -> None:
    target = await make_user("customer")
    path = path.format(id=target["id"])
    resp = await _call(client, method, path, body, None)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"
    resp = await _call(client, method, path, body, {"Authorization": "Bearer not.a.jwt"})
    assert resp.status == 401
    for role in ("customer", "staff"):
        caller = await make_user(role)
        resp = await _call(client, method, path, body, caller["headers"])
        assert resp.status == 403, role
        assert (await resp.json())["error"]["code"] == "forbidden"
    admin = await make_user("admin")
    resp = await _call(client, method, path, body, admin["headers"])
    assert resp.status == 200


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PATCH", {"name": "New"})])
async def test_me_needs_a_login_but_any_role(client, make_user, method, body) -> None:
    assert (await _call(client, method, "/api/me", body, None)).status == 401
    for role in ("customer", "staff", "admin"):
        user = await make_user(role)
        resp = await _call(client, method, "/api/me", body, user["headers"])
        assert resp.status == 200, role


async def test_list_search_filter_and_page(client, make_user) -> None:
    admin = await make_user("admin", email="root@example.test")
    for n in range(3):
        await make_user("customer", email=f"fan{n}@cinema.test")
    await make_user("staff", email="usher@cinema.test")
    resp = await client.get("/api/users", params={"q": "CINEMA", "limit": 2}, headers=admin["headers"])
    page = await resp.json()
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 0
    assert [u["email"] for u in page["items"]] == ["fan0@cinema.test", "fan1@cinema.test"]
    resp = await client.get("/api/users", params={"q": "cinema", "offset": 2, "limit": 2}, headers=admin["headers"])
    assert [u["email"] for u in (await resp.json())["items"]] == ["fan2@cinema.test", "usher@cinema.test"]
    resp = await client.get("/api/users", params={"role": "staff"}, headers=admin["headers"])
    assert [u["email"] for u in (await resp.json())["items"]] == ["usher@cinema.test"]
    # Search text is literal: % and _ are not wildcards.
    resp = await client.get("/api/users", params={"q": "%"}, headers=admin["headers"])
    assert (await resp.json())["total"] == 0
    resp = await client.get("/api/users", params={"q": "Test Staff"}, headers=admin["headers"])
    assert [u["role"] for u in (await resp.json())["items"]] == ["staff"]
    assert all("password_hash" not in u for u in page["items"])


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "abc"}, "limit"), ({"offset": "-1"}, "offset"),
     ({"role": "owner"}, "role"), ({"sort": "email"}, "sort")],
)
async def test_list_rejects_bad_query(client, make_user, params, field) -> None:
    admin = await make_user("admin")
    resp = await client.get("/api/users", params=params, headers=admin["headers"])
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "invalid" and error["field"] == field


async def test_get_one_user_and_unknown_ids(client, make_user) -> None:
    admin = await make_user("admin")
    fan = await make_user("customer")
    resp = await client.get(f"/api/users/{fan['id']}", headers=admin["headers"])
    assert (await resp.json())["email"] == fan["email"]
    assert (await client.get("/api/users/999999", headers=admin["headers"])).status == 404
    assert (await client.get("/api/users/" + "9" * 19, headers=admin["headers"])).status == 404
    assert (await client.get("/api/users/abc", headers=admin["headers"])).status == 404
    resp = await client.patch("/api/users/999999", json={"role": "staff"}, headers=admin["headers"])
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


async def test_role_change_is_audited(client, make_user, pg) -> None:
    admin = await make_user("admin")
    fan = await make_user("customer")
    resp = await client.patch(f"/api/users/{fan['id']}", json={"role": "staff"}, headers=admin["headers"])
    assert resp.status == 200 and (await resp.json())["role"] == "staff"
    assert await pg.fetchval("SELECT role FROM app_user WHERE id = $1", fan["id"]) == "staff"
    row = await pg.fetchrow("SELECT user_id, details, ip FROM user_action WHERE action = 'role_change'")
    assert row["user_id"] == admin["id"]
    assert orjson.loads(row["details"]) == {"user_id": fan["id"], "from": "customer", "to": "staff"}
    assert row["ip"] == "127.0.0.1"


@pytest.mark.parametrize("body", [{"role": "owner"}, {}, {"role": "staff", "email": "x@y.test"}, {"role": 3}])
async def test_role_change_rejects_bad_input(client, make_user, pg, body) -> None:
    admin = await make_user("admin")
    fan = await make_user("customer")
    resp = await client.patch(f"/api/users/{fan['id']}", json=body, headers=admin["headers"])
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid"
    assert await pg.fetchval("SELECT role FROM app_user WHERE id = $1", fan["id"]) == "customer"


async def test_the_last_admin_cannot_be_demoted(client, make_user) -> None:
    admin = await make_user("admin")
    resp = await client.patch(f"/api/users/{admin['id']}", json={"role": "customer"}, headers=admin["headers"])
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "last_admin"
    other = await make_user("admin")
    resp = await client.patch(f"/api/users/{admin['id']}", json={"role": "customer"}, headers=other["headers"])
    assert resp.status == 200
