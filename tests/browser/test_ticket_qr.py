"""My tickets in Chromium: every QR code is a picture the browser draws, and it scans to the ticket's code."""
from __future__ import annotations

import base64
from typing import Any

import pytest
import zxingcpp
from playwright.async_api import expect

from server.domain.tokens import ACCESS_COOKIE
from tests.browser.conftest import base_url, shoot
from tests.support.checkout import get_order, new_order, pay, wait_status

# Draw the <img> the browser decoded onto a canvas, then hand back its pixels as grey levels.
RASTERISE = """img => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth * 2;
  canvas.height = img.naturalHeight * 2;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const grey = new Uint8Array(canvas.width * canvas.height);
  for (let i = 0; i < grey.length; i++) grey[i] = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3;
  let text = "";
  for (let i = 0; i < grey.length; i += 8192) text += String.fromCharCode(...grey.subarray(i, i + 8192));
  return { width: canvas.width, height: canvas.height, grey: btoa(text) };
}"""


def scan(picture: dict[str, Any]) -> list[str]:
    """What a real QR decoder (zxing-cpp) reads in the browser's rendering."""
    grey = memoryview(base64.b64decode(picture["grey"])).cast("B", shape=(picture["height"], picture["width"]))
    return [found.text for found in zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
async def test_my_tickets_qr_codes_render_and_scan_to_the_ticket_code(
    client: Any, make_screening: Any, make_user: Any, new_page: Any, viewport: dict[str, int]
) -> None:
    base = base_url(client)
    screening = await make_screening(rows=2, per_row=6)
    buyer = await make_user()
    seats = [screening["seats"]["A3"], screening["seats"]["A4"]]
    created = await new_order(client, buyer, screening["screening_id"], seats)
    assert (await pay(client, created)).status == 303
    await wait_status(client, buyer, created["order_key"], {"paid"})
    codes = {t["id"]: t["code"] for t in (await get_order(client, buyer, created["order_key"]))["tickets"]}

    page = await new_page(viewport=viewport)
    await page.context.add_cookies([{"name": ACCESS_COOKIE, "value": buyer["token"], "url": base}])
    await page.goto(f"{base}/tickets")
    images = page.locator(".ticket-qr img")
    await expect(images).to_have_count(2)
    for i in range(2):
        img = images.nth(i)
        await expect(img).to_have_js_property("complete", True)
        src = await img.get_attribute("src")
        assert src is not None and src.endswith("/qr.svg")  # My tickets loads each code from the API
        assert await img.evaluate("img => img.naturalWidth") > 0, f"{src} is a broken image"
        ticket_id = int(src.split("/")[-2])
        assert scan(await img.evaluate(RASTERISE)) == [codes[ticket_id]]
    if viewport["width"] < 500:
        await shoot(page, "tickets-phone")  # the desktop view is test_purchase.py's tickets.png
    assert page.js_errors == []
