"""Helpers shared by the checkout tests (no tests here): a buyer's steps over real HTTP."""
from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from server import keys
from server.checkout.state import Checkout

SUCCESS = "4242 4242 4242 4242"
DECLINE = "4000 0000 0000 0002"
NO_FUNDS = "4000 0000 0000 9995"
SLOW = "4000 0000 0000 0259"
ERROR = "4000 0000 0000 0119"
DEAD_WEBHOOK = "http://127.0.0.1:9/api/payments/webhook"  # nothing listens: the webhook is "lost"
DONE = {"paid", "failed", "expired", "cancelled", "refunded"}


def co_of(client: Any) -> Checkout:
    """Checkout's dependencies inside the test server's app."""
    return client.app[keys.CHECKOUT]


async def hold(client: Any, user: dict[str, Any], screening_id: int, seat_ids: list[int]) -> dict[str, Any]:
    """The user holds these seats (through the HoldStore, as the room would)."""
    return await client.app[keys.HOLDS].hold(screening_id, f"u{user['id']}", seat_ids)


async def order(client: Any, user: dict[str, Any], screening_id: int, seat_ids: list[int],
                key: str | None = None, **extra: Any) -> Any:
    """POST /api/orders; returns the response."""
    headers = {**user["headers"], "Idempotency-Key": key or secrets.token_hex(8)}
    return await client.post("/api/orders", json={"screening_id": screening_id, "seat_ids": seat_ids, **extra},
                             headers=headers)


async def new_order(client: Any, user: dict[str, Any], screening_id: int, seat_ids: list[int]) -> dict[str, Any]:
    """Hold the seats and order them; returns the order JSON."""
    await hold(client, user, screening_id, seat_ids)
    resp = await order(client, user, screening_id, seat_ids)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def pay(client: Any, created: dict[str, Any], card: str = SUCCESS) -> Any:
    """Submit the hosted payment page's form (no redirect follow); returns the response."""
    return await client.post(created["payment_url"], data={"card": card}, allow_redirects=False)


async def get_order(client: Any, user: dict[str, Any], key: str) -> dict[str, Any]:
    resp = await client.get(f"/api/orders/{key}", headers=user["headers"])
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def wait_status(client: Any, user: dict[str, Any], key: str, wanted: set[str] = DONE,
                      timeout: float = 15.0) -> dict[str, Any]:
    """Poll until the order's status is one of `wanted` and settled (the webhook arrives asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await get_order(client, user, key)
        if found["status"] in wanted and await _settled(client, key):
            return await get_order(client, user, key)
        if time.monotonic() > deadline:
            raise AssertionError(f"order {key} still {found['status']} after {timeout}s")
        await asyncio.sleep(0.05)


async def _settled(client: Any, key: str) -> bool:
    """The order's money and seats have caught up with its status (capture, void, Redis step)."""
    return bool(await client.app[keys.DB].fetchval(
        "SELECT NOT seats_pending AND NOT (status = 'paid' AND NOT captured)"
        " AND NOT (authorised AND status <> 'paid' AND NOT voided AND NOT refunded)"
        " FROM orders WHERE order_key = $1", key))


async def payment_of(client: Any, pg: Any, key: str) -> dict[str, Any]:
    """The sandbox provider's record of an order's payment (status and counters)."""
    ref = await pg.fetchval("SELECT payment_ref FROM orders WHERE order_key = $1", key)
    found = await client.app[keys.PAYMENTS].payment(ref)
    assert found is not None
    return found


async def live_tickets(pg: Any, screening_id: int) -> list[int]:
    return [r["seat_id"] for r in await pg.fetch(
        "SELECT seat_id FROM ticket WHERE screening_id = $1 AND status = 'live' ORDER BY seat_id", screening_id)]


async def snapshot(client: Any, screening_id: int, user: dict[str, Any] | None = None) -> dict[str, Any]:
    owner = f"u{user['id']}" if user else None
    return await client.app[keys.HOLDS].snapshot(screening_id, owner)
