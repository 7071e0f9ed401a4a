"""The sandbox provider's hosted payment page (in a real deployment this page is the provider's)."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.checkout.payments import ProviderError
from server.checkout.sandbox import CARD_LABELS, SandboxProvider
from server.sentences import for_people
from server.web_setup import render_page

WEBHOOK_PATH = "/api/payments/webhook"
TEMPLATE = "sandbox_pay.html"
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
MESSAGES = {
    "created": "Enter a test card to pay.",
    "authorised": "Payment authorised. The cinema is confirming your tickets.",
    "captured": "Payment taken. Your tickets are confirmed.",
    "declined": "The card was declined. No money was taken.",
    "failed": "The payment failed at the provider. No money was taken.",
    "cancelled": "This payment session has closed (the seats' hold ran out).",
    "voided": "The authorisation was released. No money was taken.",
    "refunded": "The payment was refunded.",
}


def _provider(request: web.Request) -> SandboxProvider:
    """The sandbox provider; with any other provider configured this page does not exist (404)."""
    provider = request.app[keys.PAYMENTS]
    if not isinstance(provider, SandboxProvider):
        raise web.HTTPNotFound()
    return provider


def webhook_url(request: web.Request) -> str:
    """Where the provider calls back: this worker's own listening socket (always reachable locally)."""
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sock, tuple) and len(sock) >= 2:
        host = sock[0] if ":" not in sock[0] else f"[{sock[0]}]"
        return f"http://{host}:{sock[1]}{WEBHOOK_PATH}"
    return f"{request.scheme}://{request.host}{WEBHOOK_PATH}"


def money(minor: int, currency: str) -> str:
    """Minor units as the shop's pages write them: £25.00 (the code after the figure if no symbol)."""
    figure = f"{minor // 100:,}.{minor % 100:02d}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{figure}" if symbol else f"{figure} {currency}"


async def _page(request: web.Request, payment: dict[str, Any], error: str | None = None,
                status: int = 200) -> web.Response:
    deadline = await _provider(request).session_deadline(payment)
    context = {
        "payment": payment, "error": for_people(error) if error else None,
        "message": MESSAGES.get(payment["status"], payment["status"]),
        "amount": money(payment["amount"], payment["currency"]),
        "deadline": deadline.isoformat() if deadline else None,
        "cards": [(f"{n[0:4]} {n[4:8]} {n[8:12]} {n[12:16]}", label) for n, label in CARD_LABELS.items()],
    }
    return render_page(TEMPLATE, request, context, status=status)


async def payment_page(request: web.Request) -> web.Response:
    """GET /pay/sandbox/{payment_id}: the amount, a card form and the test cards."""
    payment = await _provider(request).payment(request.match_info["payment_id"])
    if payment is None:
        raise web.HTTPNotFound(text="No such payment.")
    return await _page(request, payment)


async def submit_payment(request: web.Request) -> web.StreamResponse:
    """POST /pay/sandbox/{payment_id}: pay with a test card, then straight back to the shop (303 to
    the payment's return URL, as a provider's hosted page does): the order page follows the outcome."""
    provider = _provider(request)
    payment_id = request.match_info["payment_id"]
    payment = await provider.payment(payment_id)
    if payment is None:
        raise web.HTTPNotFound(text="No such payment.")
    form = await request.post()
    card = str(form.get("card", ""))[:40]
    try:
        await provider.submit_card(payment_id, card, webhook_url(request))
    except ProviderError as exc:
        return await _page(request, payment, error=exc.message, status=400)
    raise web.HTTPSeeOther(location=payment["return_url"])
