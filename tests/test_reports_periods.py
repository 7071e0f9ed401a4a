"""Report periods: "sales made in a period" and "screenings shown in a period" answer different
questions; per-cinema and per-movie CSV exports follow the same choice."""
from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from tests.test_reports import DAY, RANGE, at, export, figures, place, report, sales  # noqa: F401 (fixture)

SOLD_ON = DAY - dt.timedelta(days=20)  # the day every test ticket was bought (long before the shows)


async def sold_on(pg: asyncpg.Connection, day: dt.date, refund_day: dt.date) -> None:
    """Every ticket bought at noon UTC on `day`; every refund or cancellation made on `refund_day`."""
    await pg.execute("UPDATE ticket SET created_at = $1", at(day, 12))
    await pg.execute(
        "INSERT INTO order_event (order_id, from_status, to_status, created_at)"
        " SELECT id, 'paid', status, $1 FROM orders WHERE status IN ('refunded', 'cancelled')", at(refund_day, 9))


async def test_sales_made_count_the_day_of_the_sale_not_of_the_show(
    client: Any, pg: asyncpg.Connection, sales: dict[str, Any]
) -> None:
    await sold_on(pg, SOLD_ON, DAY)
    headers = sales["staff"]["headers"]
    bought = {"from": SOLD_ON.isoformat(), "to": SOLD_ON.isoformat()}
    made = await report(client, headers, basis="sold", **bought)
    assert made["filter"]["basis"] == "sold"
    # Live tickets of s1 (2), s2 (3), s3 (1) and s4 (1, shown later than every range): all bought that day.
    assert made["totals"]["sold"] == 7 and made["totals"]["takings"] == 7700 and made["totals"]["refunds"] == 0
    assert [g["day"] for g in made["groups"]] == [SOLD_ON.isoformat()]
    # The same day on the "shown" basis: no show runs then.
    assert (await report(client, headers, basis="shown", **bought))["totals"]["screenings"] == 0
    # The refunds were made on DAY: the sales-made report of DAY has them, and no tickets.
    refunds = await report(client, headers, basis="sold", **{"from": DAY.isoformat(), "to": DAY.isoformat()})
    assert figures(refunds["totals"])[2:6] == (0, 0, 2, 3000)


async def test_the_default_is_the_sales_made_in_the_last_week(
    client: Any, pg: asyncpg.Connection, sales: dict[str, Any], clock: Any
) -> None:
    today = clock.now().date()
    await sold_on(pg, today, today)
    body = (await (await client.get("/api/reports/sales", headers=sales["staff"]["headers"])).json())
    assert body["filter"]["basis"] == "sold"
    assert body["totals"]["sold"] == 7  # upcoming shows' sales show up on a live system


async def test_per_cinema_and_per_movie_exports(client: Any, pg: asyncpg.Connection, sales: dict[str, Any]) -> None:
    admin = sales["admin"]["headers"]
    cinemas = await export(client, "/api/exports/cinemas.csv", admin, basis="shown", **RANGE)
    assert [(int(r["cinema_id"]), r["screenings"], r["sold"], r["takings"], r["refunds"]) for r in cinemas] == [
        (sales["s1"]["cinema_id"], "2", "3", "3700", "1"), (sales["s2"]["cinema_id"], "1", "3", "3000", "1")]
    movies = await export(client, "/api/exports/movies.csv", admin, basis="shown", **RANGE)
    assert [(r["movie"], r["sold"], r["takings"], r["currency"]) for r in movies] == [
        ("Alpha", "2", "2500", "GBP"), ("Beta", "4", "4200", "GBP")]
    await sold_on(pg, SOLD_ON, SOLD_ON)
    made = await export(client, "/api/exports/movies.csv", admin, **{"from": SOLD_ON.isoformat(),
                                                                      "to": SOLD_ON.isoformat()})
    assert [(r["movie"], r["sold"]) for r in made] == [("Alpha", "2"), ("Beta", "5")]
    resp = await client.get("/api/exports/movies.csv", params={**RANGE, "basis": "paid"}, headers=admin)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "basis"
