"""GET /metrics: Prometheus's figures for operators, and nobody else."""
from __future__ import annotations

import re

from tests.support.checkout import new_order, pay, wait_status
from tests.wsclient import connect


def _sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # the exposition sorts labels
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_metrics_count_requests_by_route_and_orders_by_status(client, make_user, make_screening) -> None:
    s = await make_screening(orphan_rule=False)
    buyer = await make_user()
    created = await new_order(client, buyer, s["screening_id"], [s["seats"]["A1"]])
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
    assert _sample(text, "houseful_orders", status="paid") == 1


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
