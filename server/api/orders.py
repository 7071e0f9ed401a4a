"""Orders and the payment webhook: thin handlers over server/checkout."""
from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.checkout import orders, views
from server.checkout.order_keys import normalise_order_key
from server.checkout.payments import SIGNATURE_HEADER
from server.checkout.webhooks import receive_webhook
from server.errors import InvalidInput, NotFound

T = TypeVar("T")
IDEMPOTENCY_HEADER = "Idempotency-Key"
_ID = {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999_999}
ORDER_BODY = {
    "type": "object",
    "additionalProperties": False,  # a client-supplied price or amount is refused, not ignored
    "required": ["screening_id", "seat_ids"],
    "properties": {
        "screening_id": _ID,
        "seat_ids": {"type": "array", "items": _ID, "minItems": 1, "maxItems": 100, "uniqueItems": True},
    },
}
REFUND_QUERY = {"type": "object", "additionalProperties": False, "properties": {
    "include_checked_in": {"type": "boolean", "description": "refund even though tickets were used at the door"}}}
SEAT = {"type": "object", "properties": {"seat_id": {"type": "integer"}, "row": {"type": "string"},
                                         "number": {"type": "integer"}, "kind": {"type": "string"},
                                         "price": {"type": "integer"}}}
TICKET = {"type": "object", "properties": {
    "id": {"type": "integer"}, "order_key": {"type": "string"}, "seat_id": {"type": "integer"},
    "row": {"type": "string"}, "number": {"type": "integer"}, "kind": {"type": "string"},
    "price": {"type": "integer"}, "status": {"type": "string", "enum": ["live", "cancelled"]},
    "checked_in_at": {"type": ["string", "null"]}, "code": {"type": "string"}, "qr_url": {"type": "string"},
    "qr_svg": {"type": "string", "description": "SVG data URI (single-order view only)"}}}
ORDER = {"type": "object", "properties": {
    "order_key": {"type": "string"},
    "status": {"type": "string", "enum": ["pending", "authorised", "paid", "failed", "cancelled",
                                          "refunded", "expired"]},
    "amount": {"type": "integer", "description": "minor units"}, "currency": {"type": "string"},
    "seats": {"type": "array", "items": SEAT}, "tickets": {"type": "array", "items": TICKET},
    "failure_reason": {"type": ["string", "null"], "description": "machine code, e.g. card_declined or "
                       "'seat_taken: seats 12, 13' (seat ids)"},
    "failure_message": {"type": ["string", "null"], "description": "the failure in the buyer's words"},
    "retry_until": {"type": ["string", "null"], "description": "single-order view: a declined or failed "
                    "payment may be tried again on the same held seats until then (a new order with "
                    "Idempotency-Key retry-<order key>); null when the seats are no longer held"},
    "cancel_until": {"type": ["string", "null"], "description": "a paid order may be cancelled by its "
                     "buyer until then (checkout.cancel_cutoff_minutes before the show); null otherwise"},
    "can_cancel": {"type": "boolean", "description": "the buyer may cancel now (paid, no ticket used, "
                   "before cancel_until by the server's clock)"},
    "payment_url": {"type": "string"},
    "expires_at": {"type": "string"}, "screening": {"type": "object"}}}


async def _finish(step: Awaitable[T]) -> T:
    """Run a state change to its end even if the caller hangs up (a provider timing out, a closed tab):
    half-done steps would wait for the reconciler, so we do not stop midway."""
    return await asyncio.shield(step)


def _order_key(request: web.Request) -> str:
    key = normalise_order_key(request.match_info["key"])
    if key is None:
        raise NotFound("no such order")
    return key


@endpoint("Order held seats (pending until paid)", tag="orders", role="customer", body=ORDER_BODY,
          response=ORDER, status=201, errors=(404, 409),
          description="Requires an Idempotency-Key header: repeating a request with the same key returns "
                      "the same order (200); the same key with a different body is 409 idempotency_mismatch. "
                      "Prices are computed on the server. Pay at the returned payment_url.")
async def create_order(request: web.Request) -> web.Response:
    """POST /api/orders."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not 1 <= len(key) <= 200:
        raise InvalidInput(f"an {IDEMPOTENCY_HEADER} header of 1 to 200 characters is required",
                           field=IDEMPOTENCY_HEADER)
    user, body = request[keys.USER], request[keys.BODY]
    co = request.app[keys.CHECKOUT]
    order, created = await _finish(
        orders.create_order(co, user.user_id, body["screening_id"], body["seat_ids"], key))
    view = await views.order_for(co, order["order_key"], user.user_id, staff=False)
    return json_response(view, 201 if created else 200)


@endpoint("My orders and tickets, newest first", tag="orders", role="customer",
          response={"type": "object", "properties": {"orders": {"type": "array", "items": ORDER}}})
async def my_orders(request: web.Request) -> web.Response:
    """GET /api/orders."""
    co = request.app[keys.CHECKOUT]
    return json_response({"orders": await views.orders_of(co, request[keys.USER].user_id)})


@endpoint("One order with its tickets and QR codes (yours, or any for staff)", tag="orders",
          role="customer", response=ORDER, errors=(404,))
async def get_order(request: web.Request) -> web.Response:
    """GET /api/orders/{key}."""
    user = request[keys.USER]
    co = request.app[keys.CHECKOUT]
    return json_response(await views.order_for(co, _order_key(request), user.user_id,
                                               staff=user.has_role("staff")))


@endpoint("Cancel my paid order (until the cutoff before the show); the money is refunded",
          tag="orders", role="customer", response=ORDER, errors=(404, 409),
          description="409 cancel_closed after the cutoff; 409 checked_in once a ticket of the order was "
                      "used at the door (staff can still refund it).")
async def cancel_order(request: web.Request) -> web.Response:
    """POST /api/orders/{key}/cancel."""
    user = request[keys.USER]
    co = request.app[keys.CHECKOUT]
    order = await _finish(orders.cancel_order(co, user.user_id, _order_key(request)))
    return json_response(await views.order_for(co, order["order_key"], user.user_id, staff=False))


@endpoint("Refund any paid order (staff; audited)", tag="orders", role="staff", response=ORDER,
          errors=(404, 409), query=REFUND_QUERY,
          description="An order with a ticket already used at the door is refused with 409 checked_in unless "
                      "include_checked_in=true says the refund is on purpose. Every refund is audited.")
async def refund_order(request: web.Request) -> web.Response:
    """POST /api/orders/{key}/refund."""
    user = request[keys.USER]
    co = request.app[keys.CHECKOUT]
    on_purpose = bool(request[keys.QUERY].get("include_checked_in", False))
    order = await _finish(orders.refund_order(co, user.user_id, _order_key(request),
                                              include_checked_in=on_purpose, ip=request.remote))
    return json_response(await views.order_for(co, order["order_key"], user.user_id, staff=True))


@endpoint("Payment provider webhook (HMAC-signed)", tag="payments", errors=(409,),
          response={"type": "object", "properties": {"status": {"type": "string"}}},
          description=f"Signed with the {SIGNATURE_HEADER} header t=<unix>,v1=<hex HMAC-SHA256 of "
                      "'<t>.' + raw body>. Stale timestamps and bad signatures are 400, an exact replay "
                      "409; a redelivered event (new signature) is applied idempotently.")
async def payment_webhook(request: web.Request) -> web.Response:
    """POST /api/payments/webhook."""
    body = await request.read()
    status = await _finish(receive_webhook(request.app[keys.CHECKOUT], request.headers, body))
    return json_response({"status": status})
