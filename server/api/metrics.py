"""GET /metrics: Prometheus's text exposition, for the addresses in metrics.allow_from only."""
from __future__ import annotations

import ipaddress

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from server import keys
from server.errors import NotFound
from server.metrics import exposition


IN_FLIGHT = ("pending", "authorised")  # the statuses an order passes through (sql/queries/metrics.sql)


class _Rows(Collector):
    """Gauges read from PostgreSQL at scrape time (the truth, whichever worker changed it)."""

    def __init__(self, orders: dict[str, int]) -> None:
        self.orders = orders

    def collect(self):  # type: ignore[no-untyped-def]
        family = GaugeMetricFamily("houseful_orders", "Orders in flight by status (PostgreSQL)", labels=["status"])
        for status in IN_FLIGHT:  # a zero too, so an alert on a status has a series to read
            family.add_metric([status], self.orders.get(status, 0))
        yield family


def _allowed(remote: str | None, networks: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


async def metrics(request: web.Request) -> web.Response:
    """Every worker's metrics; 404 to anyone outside metrics.allow_from (nothing to find there)."""
    settings = request.app[keys.SETTINGS].metrics
    if not settings.enabled or not _allowed(request.remote, settings.allow_from):
        raise NotFound("no such page")
    rows = await request.app[keys.DB].fetch(request.app[keys.QUERIES].metrics.orders_in_flight)
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Rows({r["status"]: r["orders"] for r in rows}))
    return web.Response(body=exposition(extra), headers={"Content-Type": CONTENT_TYPE_LATEST})
