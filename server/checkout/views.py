"""Orders and tickets as the buyer (or staff) sees them."""
from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from server.checkout.state import Checkout
from server.checkout.tickets import qr_data_uri, ticket_code
from server.errors import NotFound
from server.live.holds import owner_of

MY_ORDERS_LIMIT = 200
NOTHING_CHARGED = "Nothing was charged."
# What the buyer is told for each failure_reason code (the part before ":"), in their words.
FAILURE_MESSAGES = {
    "card_declined": "Your card was declined — try another card.",
    "insufficient_funds": "Your card was declined for insufficient funds — try another card.",
    "provider_error": "The payment could not be completed — please try again.",
    "payment declined": "Your card was declined — try another card.",
    "payment failed": "The payment could not be completed — please try again.",
    "seat_taken": "{seats} went to another order before this payment went through. " + NOTHING_CHARGED,
    "screening_closed": "The screening had already started, so no tickets could be issued. " + NOTHING_CHARGED,
    "screening_cancelled": "The screening was cancelled. " + NOTHING_CHARGED,
    "screening cancelled": "The screening was cancelled. " + NOTHING_CHARGED,
    "hold expired": "The order expired before it was paid: your seats' hold ran out. " + NOTHING_CHARGED,
}
# Failures after which the same seats may be paid again (a new order) while the buyer holds them.
RETRYABLE = frozenset({"card_declined", "insufficient_funds", "provider_error", "payment declined",
                       "payment failed"})


def _label(seat: asyncpg.Record | None, seat_id: int) -> str:
    return f"Row {seat['row_label']} seat {seat['number']}" if seat else f"Seat {seat_id}"


def failure_message(reason: str | None, seats: dict[int, asyncpg.Record]) -> str | None:
    """A failure_reason ("seat_taken: seats 12, 13", "card_declined", ...) as the buyer reads it."""
    if not reason:
        return None
    code, _, detail = reason.partition(":")
    text = FAILURE_MESSAGES.get(code, "The order could not be completed. " + NOTHING_CHARGED)
    ids = [int(part) for part in detail.replace("seats", "").split(",") if part.strip().isdigit()]
    return text.format(seats=", ".join(_label(seats.get(i), i) for i in ids) if ids else "Your seats")


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
        "failure_message": failure_message(row["failure_reason"], seats),
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
    views = [_order(r, seats, tickets.get(r["id"], [])) for r in rows]
    for view, row in zip(views, rows):
        view.update(_cancel_window(co, row, view["tickets"]))
    return views


def _cancel_window(co: Checkout, row: asyncpg.Record, tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """Until when the buyer may cancel, and whether they may now: decided by the app's clock, not the browser's."""
    if row["status"] != "paid":
        return {"cancel_until": None, "can_cancel": False}
    until = row["starts_at"] - dt.timedelta(minutes=co.settings.checkout.cancel_cutoff_minutes)
    live = [t for t in tickets if t["status"] == "live"]
    used = any(t["checked_in_at"] for t in tickets)
    can = bool(live) and not used and row["screening_status"] == "scheduled" and co.clock.now() <= until
    return {"cancel_until": until.isoformat(), "can_cancel": can}


async def order_for(co: Checkout, order_key: str, user_id: int, staff: bool) -> dict[str, Any]:
    """One order with its tickets and QR codes; someone else's order is 404 unless staff."""
    async with co.pool.acquire() as conn:
        row = await conn.fetchrow(co.sql.order_view, order_key)
        if row is None or (row["user_id"] != user_id and not staff):
            raise NotFound("no such order")
        view = (await _render(co, conn, [row], with_qr=True))[0]
    view["retry_until"] = await retry_until(co, row)
    if view["retry_until"] is None and (row["failure_reason"] or "") in RETRYABLE and row["status"] == "failed":
        view["failure_message"] += " Your seats are no longer held: choose them again to try another card."
    return view


async def retry_until(co: Checkout, row: asyncpg.Record) -> str | None:
    """Until when a failed payment can be tried again on the same seats (the hold's deadline), or None.

    A retry is a new order for the same seats (its Idempotency-Key `retry-<order key>`), possible
    while the buyer still holds every seat of a payment that was declined or failed.
    """
    code = (row["failure_reason"] or "").partition(":")[0]
    if row["status"] != "failed" or code not in RETRYABLE:
        return None
    now = co.clock.now()
    if row["screening_status"] != "scheduled" or row["starts_at"] <= now:
        return None
    mine = await co.holds.my_holds(row["screening_id"], owner_of(row["user_id"]))
    if mine["deadline"] is None or not set(row["seat_ids"]) <= set(mine["seats"]):
        return None
    deadline = dt.datetime.fromtimestamp(int(mine["deadline"]) / 1000, dt.timezone.utc)
    return deadline.isoformat() if deadline > co.clock.now() else None


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
