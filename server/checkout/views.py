"""Orders and tickets as the buyer (or staff) sees them."""
from __future__ import annotations

from typing import Any

import asyncpg

from server.checkout.state import Checkout
from server.checkout.tickets import qr_data_uri, ticket_code
from server.errors import NotFound

MY_ORDERS_LIMIT = 200


def _order(row: asyncpg.Record, seats: dict[int, asyncpg.Record], tickets: list[dict[str, Any]]) -> dict[str, Any]:
    seat_list = []
    for seat_id, price in zip(row["seat_ids"], row["prices"]):
        seat = seats.get(seat_id)
        seat_list.append({"seat_id": seat_id, "price": price,
                          "row": seat["row_label"] if seat else None,
                          "number": seat["number"] if seat else None,
                          "kind": seat["kind"] if seat else None})
    out = {
        "order_key": row["order_key"], "status": row["status"], "amount": row["amount"],
        "currency": row["currency"], "seats": seat_list, "failure_reason": row["failure_reason"],
        "expires_at": row["expires_at"].isoformat(), "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "screening": {"id": row["screening_id"], "starts_at": row["starts_at"].isoformat(),
                      "ends_at": row["ends_at"].isoformat(), "status": row["screening_status"],
                      "movie_title": row["movie_title"], "cinema": row["cinema"], "city": row["city"],
                      "auditorium": row["auditorium"], "time_zone": row["time_zone"]},
        "tickets": tickets,
    }
    if row["status"] == "pending":
        out["payment_url"] = row["payment_url"]
    return out


def _ticket(co: Checkout, row: asyncpg.Record, order_key: str, with_qr: bool) -> dict[str, Any]:
    code = ticket_code(co.ticket_secret, row["id"], order_key)
    out = {"id": row["id"], "order_key": order_key, "seat_id": row["seat_id"], "row": row["row_label"],
           "number": row["number"], "kind": row["kind"], "price": row["price"], "status": row["status"],
           "checked_in_at": row["checked_in_at"].isoformat() if row["checked_in_at"] else None,
           "code": code, "qr_url": f"/api/tickets/{row['id']}/qr.svg"}
    if with_qr and row["status"] == "live":
        out["qr_svg"] = qr_data_uri(code)
    return out


async def _render(co: Checkout, conn: asyncpg.Connection, rows: list[asyncpg.Record],
                  with_qr: bool) -> list[dict[str, Any]]:
    seat_ids = sorted({s for r in rows for s in r["seat_ids"]})
    seats = {s["id"]: s for s in await conn.fetch(co.sql.seats_of, seat_ids)}
    tickets: dict[int, list[dict[str, Any]]] = {}
    keys = {r["id"]: r["order_key"] for r in rows}
    for t in await conn.fetch(co.sql.tickets_of_orders, list(keys)):
        tickets.setdefault(t["order_id"], []).append(_ticket(co, t, keys[t["order_id"]], with_qr))
    return [_order(r, seats, tickets.get(r["id"], [])) for r in rows]


async def order_for(co: Checkout, order_key: str, user_id: int, staff: bool) -> dict[str, Any]:
    """One order with its tickets and QR codes; someone else's order is 404 unless staff."""
    async with co.pool.acquire() as conn:
        row = await conn.fetchrow(co.sql.order_view, order_key)
        if row is None or (row["user_id"] != user_id and not staff):
            raise NotFound("no such order")
        return (await _render(co, conn, [row], with_qr=True))[0]


async def orders_of(co: Checkout, user_id: int) -> list[dict[str, Any]]:
    """The user's orders, newest first, with tickets (QR codes via each ticket's qr_url)."""
    async with co.pool.acquire() as conn:
        rows = await conn.fetch(co.sql.orders_of_user, user_id, MY_ORDERS_LIMIT)
        return await _render(co, conn, list(rows), with_qr=False)


async def ticket_code_for(co: Checkout, ticket_id: int, user_id: int, staff: bool) -> str:
    """A ticket's signed code, for its owner or staff (404 otherwise)."""
    row = await co.pool.fetchrow(co.sql.ticket_owner, ticket_id)
    if row is None or (row["user_id"] != user_id and not staff):
        raise NotFound("no such ticket")
    return ticket_code(co.ticket_secret, row["id"], row["order_key"])
