"""Check-in with the camera: a ticket's QR code in front of the camera admits it.

Chromium gets a fake camera that films a picture of the ticket's QR code (a Y4M video made here
with segno). Headless Chromium on Linux has no BarcodeDetector, so this reads the code with the
vendored decoder (static/vendor/jsqr), the path every browser without the detector takes.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import segno
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, base_url, log_in
from tests.browser.test_staff import buy


def qr_video(text: str, path: Path, size: int = 480, frames: int = 10) -> Path:
    """A still video (YUV4MPEG2, grey) of the QR code of `text` on white, `frames` frames long."""
    matrix = segno.make_qr(text, error="m").matrix
    modules = len(matrix) + 8  # with the quiet zone
    scale = size // modules
    offset = (size - scale * len(matrix)) // 2
    luma = bytearray(b"\xff" * size * size)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (offset + y * scale + dy) * size + offset + x * scale
                    luma[start:start + scale] = b"\x10" * scale
    chroma = b"\x80" * (size // 2) * (size // 2) * 2
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{size} H{size} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + bytes(luma) + chroma)
    return path


async def test_the_camera_reads_a_ticket_and_admits_it(client: Any, make_screening: Any, make_user: Any,
                                                      register: Any, tmp_path: Path) -> None:
    base = base_url(client)
    screening = await make_screening(rows=1, per_row=4)
    customer = await make_user("customer")
    key = await buy(client, customer, screening["screening_id"], [screening["seats"]["A1"]])
    async with aiohttp.ClientSession() as http:
        for _ in range(100):  # the webhook confirms the order shortly (no event to wait on over HTTP)
            order = await (await http.get(f"{base}/api/orders/{key}", headers=customer["headers"])).json()
            if order["status"] == "paid":
                break
            await asyncio.sleep(0.1)
    video = qr_video(order["tickets"][0]["code"], tmp_path / "ticket.y4m")
    staff = await register(client, role="staff")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"])
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            context.set_default_timeout(10_000)
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await log_in(page, base, staff)
            await page.goto(f"{base}/staff/checkin")
            await page.get_by_role("button", name="Scan with camera").click()
            await expect(page.locator('[data-outcome="valid"]')).to_contain_text("Row A seat 1", timeout=15_000)
            assert await page.evaluate("'jsQR' in window")  # read by the vendored decoder
            await page.get_by_role("button", name="Stop camera").click()
            await expect(page.locator("#camera")).to_be_hidden()
            assert errors == []
        finally:
            await browser.close()
