"""Forgotten password, end to end in Chromium: the login page, the email, the link, the new password."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import expect

from tests.browser.conftest import PASSWORD, base_url, log_in, shoot
from tests.support.mail import SmtpSink, parts

NEW_PASSWORD = "reel-2-reel-2025"


async def test_reset_a_forgotten_password_from_the_login_page(
        mail_client: Any, smtp: SmtpSink, register: Any, new_page: Any) -> None:
    base = base_url(mail_client)
    user = await register(mail_client)
    elsewhere = await new_page()  # the same account logged in on another device
    await log_in(elsewhere, base, user)
    page = await new_page()
    await page.goto(f"{base}/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page).to_have_url(f"{base}/forgot-password")
    await page.fill("#email", user["email"])
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.locator("#forgot-sent")).to_be_visible()
    await expect(page.locator("#forgot-sent-text")).to_contain_text("If an account uses this address")
    await shoot(page, "forgot-password")

    [message] = await smtp.wait_for(1)
    link = re.search(r"https://\S+/reset-password#token=[\w-]+", parts(message)["text"]).group(0)  # type: ignore[union-attr]
    parts_of_link = urlsplit(link)
    await page.goto(f"{base}{parts_of_link.path}#{parts_of_link.fragment}")
    await expect(page).to_have_url(f"{base}/reset-password")  # the token left the address bar
    await page.fill("#password", NEW_PASSWORD)
    await page.fill("#confirm", NEW_PASSWORD + "x")
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.locator(".form-error")).to_have_text("The two passwords differ.")
    await page.fill("#confirm", NEW_PASSWORD)
    await shoot(page, "reset-password")
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.locator("#reset-done")).to_be_visible()

    # The other device's session is over: its next refresh is refused.
    refreshed = await elsewhere.context.request.post(f"{base}/api/auth/refresh", headers={"Origin": base})
    assert refreshed.status == 401
    # Logging in with the old password fails, with the new one works.
    await page.locator("#reset-done").get_by_role("link", name="Log in").click()
    await page.fill("#email", user["email"])
    await page.fill("#password", PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator(".form-error")).to_contain_text("Wrong email or password")
    await page.fill("#password", NEW_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{base}/")
    # The same link a second time: it was single use.
    again = await new_page()
    await again.goto(f"{base}{parts_of_link.path}#{parts_of_link.fragment}")
    await again.fill("#password", NEW_PASSWORD)
    await again.fill("#confirm", NEW_PASSWORD)
    await again.get_by_role("button", name="Set new password").click()
    await expect(again.locator("#reset-bad-link")).to_be_visible()
    await expect(again.locator("#reset-bad-text")).to_contain_text("expired or was already used")
    assert page.js_errors == [] and again.js_errors == [] and elsewhere.js_errors == []
