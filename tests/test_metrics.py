"""GET /metrics: Prometheus's figures for operators, and nobody else."""
from __future__ import annotations

import re
from typing import Any

import orjson

from server import keys
from server.checkout import confirm, payments
from server.checkout.reconciler import reconcile
from tests.support.checkout import DEAD_WEBHOOK, co_of, new_order, pay, wait_status
from tests.wsclient import RoomClient, connect


def _sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # the exposition sorts labels
    braces = rf"\{{{re.escape(wanted)}\}}" if labels else ""
    found = re.search(rf"^{name}{braces} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_metrics_count_requests_by_route_and_orders_in_flight(client, make_user, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["A1"]])
    waiting = await (await client.get("/metrics")).text()
    assert (_sample(waiting, "houseful_orders", status="pending"),
            _sample(waiting, "houseful_orders", status="authorised")) == (1, 0)
    await pay(client, created)
    assert (await wait_status(client, buyer, created["order_key"]))["status"] == "paid"
    before = _sample(await (await client.get("/metrics")).text(), "houseful_http_requests_total",
                     method="GET", route="/api/movies/{id}", status="404") or 0
    for movie in (900001, 900002, 900003):  # three URLs, one route: one series, not three
        assert (await client.get(f"/api/movies/{movie}")).status == 404
    resp = await client.get("/metrics")
    assert resp.status == 200
    text = await resp.text()
    assert _sample(text, "houseful_http_requests_total", method="GET", route="/api/movies/{id}",
                   status="404") == before + 3
    assert "/api/movies/900001" not in text
    assert _sample(text, "houseful_orders", status="pending") == 0  # paid: no longer in flight


async def test_metrics_are_not_served_outside_the_allowed_networks(make_client) -> None:
    client = await make_client(metrics={"allow_from": ["10.0.0.0/8"]})
    resp = await client.get("/metrics")
    assert resp.status == 404 and "houseful_" not in await resp.text()


async def test_metrics_count_open_seat_maps_and_hold_commands_by_result(client, make_user, make_screening) -> None:
    s = await make_screening(rows=1, per_row=4)
    ann, bob = await make_user(), await make_user()

    async def scrape() -> str:
        return await (await client.get("/metrics")).text()

    def hold_count(text: str, result: str) -> float:
        return _sample(text, "houseful_ws_commands_total", kind="room", command="hold", result=result) or 0

    def open_rooms(text: str) -> float:
        return _sample(text, "houseful_sockets_open", kind="room") or 0

    before = await scrape()
    a = await connect(client, s["screening_id"], token=ann["token"])
    b = await connect(client, s["screening_id"], token=bob["token"])
    await a.ok("hold", seats=[s["seats"]["A1"]])
    refused = await b.error("hold", seats=[s["seats"]["A1"]])
    during = await scrape()
    assert open_rooms(during) == open_rooms(before) + 2
    assert hold_count(during, "ok") == hold_count(before, "ok") + 1
    assert hold_count(during, refused["code"]) == hold_count(before, refused["code"]) + 1
    seconds = _sample(during, "houseful_ws_command_seconds_count", kind="room", command="hold") or 0
    assert seconds == (_sample(before, "houseful_ws_command_seconds_count", kind="room", command="hold") or 0) + 2
    await a.close()
    await b.close()


async def _scrape(client: Any) -> str:
    return await (await client.get("/metrics")).text()


def _count(text: str, name: str, **labels: str) -> float:
    return _sample(text, name, **labels) or 0


async def test_metrics_time_fanout_rooms_redis_scripts_and_postgres(client, make_user, make_screening) -> None:
    s = await make_screening(rows=1, per_row=4)
    ann = await make_user()
    before = await _scrape(client)
    watcher = await connect(client, s["screening_id"])
    holder = await connect(client, s["screening_id"], token=ann["token"])
    await holder.ok("hold", seats=[s["seats"]["A1"]])
    # The frame reached the watcher, so the room has timed it (the hub observes as it writes).
    await watcher.event(lambda e: e["type"] == "held")
    after = await _scrape(client)
    assert _count(after, "houseful_rooms_open") == _count(before, "houseful_rooms_open") + 1
    frames = _count(after, "houseful_fanout_lag_seconds_count") - _count(before, "houseful_fanout_lag_seconds_count")
    assert frames >= 1
    # Seconds, not milliseconds: on loopback every frame left well within five seconds of its event.
    in_time = (_count(after, "houseful_fanout_lag_seconds_bucket", le="5.0")
               - _count(before, "houseful_fanout_lag_seconds_bucket", le="5.0"))
    assert in_time == frames
    trips = "houseful_redis_script_seconds_count"  # the hold, the snapshots: at least one round trip
    assert _count(after, trips, scripts="seats") > _count(before, trips, scripts="seats")
    for name in ("houseful_pg_query_seconds_count", "houseful_pg_acquire_seconds_count"):
        assert _count(after, name) > _count(before, name), name  # ann's token check, the scrape's own read
    await watcher.close()
    await holder.close()
    assert _count(await _scrape(client), "houseful_rooms_open") == _count(before, "houseful_rooms_open")


def _authorised(ref: str, order_key: str, created: float) -> bytes:
    return orjson.dumps({"id": "evt_metrics", "type": payments.AUTHORISED, "created": int(created),
                         "data": {"payment_id": ref, "reference": order_key, "reason": None}})


async def test_metrics_count_reconciler_actions_and_webhooks_by_result(client, make_user, make_screening, pg,
                                                                       clock) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    before = await _scrape(client)
    # A buyer paid; the server crashed right after recording the authorisation: the reconciler
    # confirms the order.
    lost = await new_order(client, buyer, s["screening_id"], [s["seats"]["A1"]])
    row = await pg.fetchrow("SELECT id, payment_ref FROM orders WHERE order_key = $1", lost["order_key"])
    ref = row["payment_ref"]
    await client.app[keys.PAYMENTS].submit_card(ref, "4242424242424242", DEAD_WEBHOOK)
    await confirm.record_authorisation(co_of(client), row["id"])
    assert (await reconcile(co_of(client), grace_seconds=0))["confirmed"] == 1
    # Another buyer's webhook arrives; then a forged one; then a genuine one twice (a replay).
    paid = await new_order(client, buyer, s["screening_id"], [s["seats"]["A3"]])
    await pay(client, paid)
    assert (await wait_status(client, buyer, paid["order_key"]))["status"] == "paid"
    body = _authorised(ref, lost["order_key"], clock.time())
    signature = payments.sign(client.app[keys.PAYMENTS].secret, int(clock.time()), body)
    url, headers = "/api/payments/webhook", {"Content-Type": "application/json"}
    forged = await client.post(url, data=body, headers={**headers, payments.SIGNATURE_HEADER: signature + "0"})
    assert forged.status == 400
    statuses = [(await client.post(url, data=body, headers={**headers, payments.SIGNATURE_HEADER: signature})).status
                for _ in range(2)]
    assert statuses == [200, 409]
    after = await _scrape(client)
    action = "houseful_reconciler_actions_total"
    assert _count(after, action, action="confirmed") == _count(before, action, action="confirmed") + 1
    hooks = "houseful_payment_webhooks_total"
    grown = {r: _count(after, hooks, result=r) - _count(before, hooks, result=r)
             for r in ("applied", "refused", "replayed", "failed")}
    assert grown == {"applied": 2, "refused": 1, "replayed": 1, "failed": 0}


async def test_metrics_show_the_waiting_room_line(make_client, make_user, make_screening, clock) -> None:
    client = await make_client(waiting_room={"tick_ms": 40, "lease_ms": 300})
    sid = (await make_screening(rows=1, per_row=4))["screening_id"]
    admin = await make_user("admin")
    resp = await client.put(f"/api/screenings/{sid}/waiting-room", json={"mode": "always", "admit_per_second": 7,
                                                                         "paused": True}, headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    tabs = []
    for _ in range(3):
        user = await make_user()
        tab = await connect_line(client, sid, user)
        await tab.ok("join")
        tabs.append(tab)
    clock.advance(1)
    later = clock.ms()
    # The frame is written after the figures are recorded: once a tab sees three in line, so does /metrics.
    await tabs[0].wait_for(lambda m: m.get("type") == "line" and m["last"] == 3 and m["server_time"] >= later)
    text = await _scrape(client)
    figures = {name: _sample(text, f"houseful_line_{name}", screening=str(sid))
               for name in ("waiting", "admitted", "shopping", "admit_per_second")}
    assert figures == {"waiting": 3, "admitted": 0, "shopping": 0, "admit_per_second": 7}
    assert _count(text, "houseful_redis_script_seconds_count", scripts="line") >= 4  # three joins, the ticks
    resp = await client.put(f"/api/screenings/{sid}/waiting-room", json={"paused": False}, headers=admin["headers"])
    assert resp.status == 200
    clock.advance(1)  # at 7 a second, all three are due
    seen = await tabs[0].wait_for(lambda m: m.get("type") == "line" and m["admitted"] == 3)
    text = await _scrape(client)
    assert _sample(text, "houseful_line_admitted", screening=str(sid)) == seen["admitted"] == 3
    assert _sample(text, "houseful_line_waiting", screening=str(sid)) == 0
    for tab in tabs:
        await tab.close()


async def connect_line(client: Any, sid: int, user: dict[str, Any]) -> RoomClient:
    return RoomClient(await client.ws_connect(f"/ws/screenings/{sid}/line", headers=user["headers"]))
