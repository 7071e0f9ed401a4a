"""Tickets: signed QR payloads staff can verify, and a check-in that happens once.

A ticket's code is HF1.<ticket id>.<order key>.<signature>: all characters are in QR's
alphanumeric set (compact codes), and the signature (HMAC-SHA256, 80 bits, Crockford base32)
means a code cannot be forged from a guessed ticket id and order key.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import io
import re
from typing import Any

import segno

from server.checkout.order_keys import ALPHABET, normalise_order_key
from server.checkout.state import Checkout

VERSION = "HF1"
# One drawing for both forms: white quiet zone so the code scans on any page background.
_DRAWING = {"scale": 4, "border": 2, "dark": "#000", "light": "#fff"}
_CODE = re.compile(r"^HF1\.(\d{1,18})\.([0-9A-HJKMNP-TV-Z]{8,12})\.([0-9A-HJKMNP-TV-Z]{16})$")


def ticket_secret(jwt_secret: str) -> bytes:
    """The key that signs ticket codes, derived from (never equal to) the JWT secret."""
    return hmac.new(jwt_secret.encode(), b"houseful:ticket-code", hashlib.sha256).digest()


def _signature(secret: bytes, ticket_id: int, order_key: str) -> str:
    mac = hmac.new(secret, f"{VERSION}.{ticket_id}.{order_key}".encode(), hashlib.sha256).digest()[:10]
    number = int.from_bytes(mac, "big")
    return "".join(ALPHABET[(number >> shift) & 31] for shift in range(75, -1, -5))


def ticket_code(secret: bytes, ticket_id: int, order_key: str) -> str:
    """The signed payload printed in a ticket's QR code."""
    return f"{VERSION}.{ticket_id}.{order_key}.{_signature(secret, ticket_id, order_key)}"


def read_code(secret: bytes, code: str) -> tuple[int, str] | None:
    """(ticket id, order key) from a genuine code, or None for anything else."""
    match = _CODE.match(code.strip().upper())
    if not match:
        return None
    ticket_id, order_key, given = int(match[1]), match[2], match[3]
    if not hmac.compare_digest(given, _signature(secret, ticket_id, order_key)):
        return None
    return ticket_id, order_key


@functools.lru_cache(maxsize=4096)  # a code's picture never changes, and drawing one costs ~10 ms
def qr_svg(code: str) -> bytes:
    """The code as a standalone SVG document (with its namespace: an <img> cannot draw one without)."""
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="svg", xmldecl=True, **_DRAWING)
    return out.getvalue()


@functools.lru_cache(maxsize=4096)
def qr_data_uri(code: str) -> str:
    """The code as an SVG data URI, ready for an <img src>."""
    return segno.make(code, error="m").svg_data_uri(**_DRAWING)


def _seat(row: Any) -> dict[str, Any]:
    return {"row": row["row_label"], "number": row["number"], "kind": row["kind"]}


async def check_in(co: Checkout, code: str) -> dict[str, Any]:
    """A staff scan: {"result": "valid" | "already_used" | "invalid", "ticket"?: {...}}.

    `code` is a ticket's QR payload, or an order key typed at the door (every ticket of the order).
    """
    found = read_code(co.ticket_secret, code)
    if found is None:
        order_key = normalise_order_key(code)
        if order_key is not None:
            return await _check_in_order(co, order_key)
        return {"result": "invalid", "reason": "not a genuine Houseful ticket code or order key"}
    ticket_id, order_key = found
    # Atomic: of two simultaneous scans of one ticket exactly one gets the row back.
    row = await co.pool.fetchrow(co.sql.ticket_check_in, ticket_id, order_key, co.clock.now())
    if row is not None:
        return {"result": "valid", "ticket": _ticket_of(row)}
    row = await co.pool.fetchrow(co.sql.ticket_for_check_in, ticket_id, order_key)
    if row is None or row["status"] != "live":
        return {"result": "invalid", "reason": "this ticket was cancelled" if row else "no such ticket"}
    return {"result": "already_used", "ticket": _ticket_of(row)}


async def _check_in_order(co: Checkout, order_key: str) -> dict[str, Any]:
    """Admit the tickets of a paid order not yet in; already_used when every one was admitted before."""
    admitted = await co.pool.fetch(co.sql.order_check_in, order_key, co.clock.now())
    if admitted:
        tickets = [_ticket_of(row) for row in admitted]
        return {"result": "valid", "ticket": tickets[0], "tickets": tickets}
    live = await co.pool.fetch(co.sql.order_tickets_for_check_in, order_key)
    if not live:
        return {"result": "invalid", "reason": "no paid order with live tickets has this key"}
    tickets = [_ticket_of(row) for row in live]
    return {"result": "already_used", "ticket": tickets[0], "tickets": tickets}


def _ticket_of(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "order_key": row["order_key"], "screening_id": row["screening_id"],
            "seat": _seat(row), "checked_in_at": row["checked_in_at"].isoformat()}
