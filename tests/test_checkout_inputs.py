"""Idempotency, duplicate and forged webhooks, and bad input: a clear 4xx and nothing changes."""
from __future__ import annotations

import asyncio
import hashlib
import hmac

import orjson
import pytest

from server import keys
from server.checkout import payments
from server.checkout.payments import ProviderDeps
from server.checkout.providers import make_provider
from server.config import ConfigError
from tests.support.checkout import get_order, hold, new_order, order, pay, payment_of, wait_status
from tests.support.clocks import around_midnight


async def _counts(pg) -> tuple[int, int, int]:
    return (await pg.fetchval("SELECT count(*) FROM orders"), await pg.fetchval("SELECT count(*) FROM ticket"),
            await pg.fetchval("SELECT count(*) FROM order_event"))


async def test_same_key_same_order_and_mismatch_is_409(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    seats = [s["seats"]["A1"], s["seats"]["A2"]]
    await hold(client, buyer, s["screening_id"], seats)
    first = await order(client, buyer, s["screening_id"], seats, key="k-1")
    again = await order(client, buyer, s["screening_id"], list(reversed(seats)), key="k-1")
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())["order_key"] == (await again.json())["order_key"]
    other = await order(client, buyer, s["screening_id"], seats[:1], key="k-1")
    assert other.status == 409 and (await other.json())["error"]["code"] == "idempotency_mismatch"
    assert await pg.fetchval("SELECT count(*) FROM orders") == 1


async def test_concurrent_submits_with_one_key_make_one_order(client, make_user, make_screening, pg) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    seats = [s["seats"]["B1"], s["seats"]["B2"]]
    await hold(client, buyer, s["screening_id"], seats)
    replies = await asyncio.gather(*(order(client, buyer, s["screening_id"], seats, key="double-click")
                                     for _ in range(8)))
    assert sorted(r.status for r in replies) == [200] * 7 + [201]
    bodies = [await r.json() for r in replies]
    assert len({b["order_key"] for b in bodies}) == 1
    # Each request may open a payment session (outside any transaction); one is kept for all.
    assert len({b["payment_url"] for b in bodies}) == 1
    assert await pg.fetchval("SELECT count(*) FROM orders") == 1


async def test_bad_orders_are_refused_and_change_nothing(client, make_user, make_screening, pg) -> None:
    s = await make_screening(rows=1, per_row=4, orphan_rule=False)
    buyer, rival = await make_user(), await make_user()
    a1, a2, a3, a4 = (s["seats"][f"A{n}"] for n in range(1, 5))
    await hold(client, buyer, s["screening_id"], [a1])
    await hold(client, rival, s["screening_id"], [a2])
    before = await _counts(pg)

    async def refused(resp, status: int, code: str) -> None:
        body = await resp.json()
        assert (resp.status, body["error"]["code"]) == (status, code), body

    await refused(await order(client, buyer, s["screening_id"], [a2]), 409, "not_held")  # someone else's hold
    await refused(await order(client, buyer, s["screening_id"], [a1, a3]), 409, "not_held")  # partly held
    await refused(await order(client, buyer, s["screening_id"], [a1], amount=1), 400, "invalid")  # client price
    await refused(await order(client, buyer, s["screening_id"], [a1], price=1), 400, "invalid")
    await refused(await order(client, buyer, 999_999, [a1]), 404, "not_found")
    await refused(await order(client, buyer, s["screening_id"], []), 400, "invalid")
    no_key = await client.post("/api/orders", json={"screening_id": s["screening_id"], "seat_ids": [a1]},
                               headers=buyer["headers"])
    await refused(no_key, 400, "invalid")
    anonymous = await client.post("/api/orders", json={"screening_id": s["screening_id"], "seat_ids": [a1]},
                                  headers={"Idempotency-Key": "x"})
    assert anonymous.status == 401
    # Houseful: every seat sold or held, and this customer holds none of them.
    await hold(client, rival, s["screening_id"], [a3, a4])
    stranger = await make_user()
    await client.app[keys.HOLDS].release(s["screening_id"], f"u{buyer['id']}", None)
    await hold(client, rival, s["screening_id"], [a1])
    await refused(await order(client, stranger, s["screening_id"], [a1]), 409, "houseful")
    assert await _counts(pg) == before
    unknown = await client.get("/api/orders/ZZZZZZZZZZ", headers=buyer["headers"])
    assert unknown.status == 404


async def test_someone_elses_order_is_not_found(client, make_user, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    buyer, stranger, staff = await make_user(), await make_user(), await make_user("staff")
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["A1"]])
    path = f"/api/orders/{created['order_key']}"
    assert (await client.get(path, headers=stranger["headers"])).status == 404
    assert (await client.get(path, headers=staff["headers"])).status == 200
    # Typed keys are forgiving: lower case and hyphens are fine.
    key = created["order_key"].lower()
    assert (await client.get(f"/api/orders/{key[:5]}-{key[5:]}", headers=buyer["headers"])).status == 200


def _event(payment_ref: str, reference: str, kind: str = payments.AUTHORISED, event_id: str = "evt_test1", *,
           created: float) -> bytes:
    return orjson.dumps({"id": event_id, "type": kind, "created": int(created),
                         "data": {"payment_id": payment_ref, "reference": reference, "reason": None}})


async def _post(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[payments.SIGNATURE_HEADER] = signature
    return await client.post("/api/payments/webhook", data=body, headers=headers)


@around_midnight  # signatures are fresh or stale by the server's clock, not the wall's
async def test_webhooks_bad_signature_stale_replay_and_duplicate(client, make_user, make_screening, pg, clock) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["C1"]])
    await pay(client, created)
    paid = await wait_status(client, buyer, created["order_key"])
    assert paid["status"] == "paid"
    provider = client.app[keys.PAYMENTS]
    ref = await pg.fetchval("SELECT payment_ref FROM orders WHERE order_key = $1", created["order_key"])
    body = _event(ref, created["order_key"], created=clock.time())
    before = await _counts(pg)

    forged = await _post(client, body, payments.sign("not-the-secret", int(clock.time()), body))
    assert (forged.status, (await forged.json())["error"]["code"]) == (400, "bad_signature")
    assert (await _post(client, body, None)).status == 400
    tampered = await _post(client, body.replace(b"evt_test1", b"evt_test2"),
                           payments.sign(provider.secret, int(clock.time()), body))
    assert tampered.status == 400
    stale = await _post(client, body, payments.sign(provider.secret, int(clock.time()) - 3600, body))
    assert (stale.status, (await stale.json())["error"]["code"]) == (400, "stale_webhook")

    # A genuine redelivery of the authorisation: acknowledged, and nothing happens twice.
    signature = payments.sign(provider.secret, int(clock.time()), body)
    duplicate = await _post(client, body, signature)
    assert duplicate.status == 200 and (await duplicate.json())["status"] == "paid"
    # The exact same signed request again is a replay.
    replay = await _post(client, body, signature)
    assert (replay.status, (await replay.json())["error"]["code"]) == (409, "replayed_webhook")
    assert await _counts(pg) == before
    payment = await payment_of(client, pg, created["order_key"])
    assert (payment["captures"], payment["status"]) == (1, "captured")
    assert (await get_order(client, buyer, created["order_key"]))["status"] == "paid"


async def test_concurrent_duplicate_webhooks_capture_once(client, make_user, make_screening, pg, clock) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["C2"], s["seats"]["C3"]])
    provider = client.app[keys.PAYMENTS]
    ref = await pg.fetchval("SELECT payment_ref FROM orders WHERE order_key = $1", created["order_key"])
    # The buyer pays, but the provider's own webhook goes nowhere; we deliver copies ourselves.
    await provider.submit_card(ref, "4242424242424242", "http://127.0.0.1:9/unused")
    body = _event(ref, created["order_key"], event_id="evt_dup", created=clock.time())
    replies = await asyncio.gather(*(_post(client, body, payments.sign(provider.secret, int(clock.time()) - i, body))
                                     for i in range(6)))
    assert all(r.status == 200 for r in replies)
    assert (await get_order(client, buyer, created["order_key"]))["status"] == "paid"
    assert await pg.fetchval("SELECT count(*) FROM ticket") == 2
    payment = await payment_of(client, pg, created["order_key"])
    assert payment["captures"] == 1
    assert await pg.fetchval("SELECT count(*) FROM order_event WHERE to_status = 'paid'") == 1


async def test_webhook_for_unknown_payment_is_acknowledged_and_ignored(client, pg, clock) -> None:
    provider = client.app[keys.PAYMENTS]
    body = _event("sbx_" + "0" * 32, "ABCDEFGHJK", created=clock.time())
    resp = await _post(client, body, payments.sign(provider.secret, int(clock.time()), body))
    assert resp.status == 200 and (await resp.json())["status"] == "ignored"


async def test_payment_providers_are_built_by_name(client) -> None:
    deps = ProviderDeps(client.app[keys.DB], client.app[keys.QUERIES], "secret", client.app[keys.SETTINGS].checkout,
                        client.app[keys.CLOCK])
    sandbox = make_provider("sandbox", deps)
    assert sandbox.name == "sandbox"
    await sandbox.start()  # its webhook deliveries run until stop, which returns promptly
    await asyncio.wait_for(sandbox.stop(), 10)
    with pytest.raises(ConfigError, match="unknown provider 'stripe' .known: sandbox"):
        make_provider("stripe", deps)


async def test_the_webhook_secret_is_derived_exactly_as_documented(client, clock) -> None:
    # docs/checkout.md: the lowercase hex digest of HMAC-SHA256(key = the JWT secret's UTF-8 bytes,
    # message = b"houseful:payment-webhook"); its 64 ASCII characters (not the 32 raw bytes) are the key.
    jwt = client.app[keys.JWT_SECRET].encode("utf-8")
    digest = hmac.new(jwt, b"houseful:payment-webhook", hashlib.sha256)
    body = orjson.dumps({"id": "evt_doc", "type": "payment.authorised", "created": int(clock.time()),
                         "data": {"payment_id": "sbx_" + "0" * 32, "reference": "NOSUCHORDER", "amount": 1,
                                  "currency": "GBP", "reason": None}})

    async def send(key: bytes, event_time: int) -> int:
        mac = hmac.new(key, f"{event_time}.".encode() + body, hashlib.sha256).hexdigest()
        resp = await client.post("/api/payments/webhook", data=body, headers={
            "Content-Type": "application/json", payments.SIGNATURE_HEADER: f"t={event_time},v1={mac}"})
        return resp.status

    now = int(clock.time())
    assert await send(digest.digest(), now) == 400  # the raw digest is not the key
    assert await send(digest.hexdigest().encode("ascii"), now) == 200  # the hex text is (an unknown payment: ignored)
