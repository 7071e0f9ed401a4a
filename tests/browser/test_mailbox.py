"""The demo mailbox: what the local mail catcher received, read by staff in the browser."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP
from playwright.async_api import expect

from server.messaging.mailbox import Catcher
from tests.browser.conftest import base_url, log_in, shoot
from tests.support.checkout import new_order, pay, wait_status
from tests.support.stores import free_port


async def test_staff_read_the_demo_emails_with_their_attachments(
        make_client: Any, tmp_path: Path, make_screening: Any, make_user: Any, register: Any, new_page: Any) -> None:
    port = free_port()
    catcher = Catcher(tmp_path / "mailbox")  # as `run.py serve --demo` runs it
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(catcher, hostname="catcher"), "127.0.0.1", port)
    try:
        client = await make_client(jobs={"worker_in_node": True, "poll_seconds": 0.2}, data_dir=str(tmp_path),
                                   mail={"smtp_port": port})
        buyer = await make_user()
        sc = await make_screening()
        created = await new_order(client, buyer, sc["screening_id"], [sc["seats"]["A1"], sc["seats"]["A2"]])
        await pay(client, created)
        await wait_status(client, buyer, created["order_key"], {"paid"})
        deadline = asyncio.get_running_loop().time() + 30
        while not catcher.box.keys():
            assert asyncio.get_running_loop().time() < deadline, "the catcher received nothing"
            await asyncio.sleep(0.1)

        customer = await make_user()
        assert (await client.get("/api/mailbox", headers=customer["headers"])).status == 403
        assert (await client.get("/api/mailbox")).status == 401
        staff = await make_user("staff")
        [summary] = (await (await client.get("/api/mailbox", headers=staff["headers"])).json())["messages"]
        assert summary["subject"].startswith("Your tickets: Test Movie") and summary["to"] == buyer["email"]
        html = await client.get(f"/api/mailbox/{summary['id']}/html", headers=staff["headers"])
        assert "default-src 'none'" in html.headers["Content-Security-Policy"]
        assert "data:image/png;base64," in await html.text() and "cid:" not in await html.text()
        pdf = await client.get(f"/api/mailbox/{summary['id']}/attachments/0", headers=staff["headers"])
        assert pdf.content_type == "application/pdf" and (await pdf.read()).startswith(b"%PDF")
        assert (await client.get("/api/mailbox/nope/attachments/0", headers=staff["headers"])).status == 404

        base = base_url(client)
        page = await new_page()
        await log_in(page, base, await register(client, role="staff"))
        await page.goto(f"{base}/staff/mailbox")
        await expect(page.locator("#mail-subject")).to_contain_text("Your tickets: Test Movie")
        await expect(page.locator("#mail-files a")).to_have_count(2)
        frame = page.frame_locator("#mail-html")
        await expect(frame.locator("text=Row A seat 1")).to_be_visible()
        await expect(frame.locator("img").first).to_have_js_property("complete", True)
        await shoot(page, "staff-mailbox")
        phone = await new_page(viewport={"width": 390, "height": 844})
        await log_in(phone, base, await register(client, role="staff"))
        await phone.goto(f"{base}/staff/mailbox")
        await expect(phone.locator("#mail-subject")).to_contain_text("Your tickets: Test Movie")
        await shoot(phone, "staff-mailbox-phone")
        assert page.js_errors == [] and phone.js_errors == []
    finally:
        server.close()
        await server.wait_closed()
