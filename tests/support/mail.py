"""A real SMTP server for tests (aiosmtpd on a free loopback port, in the test's event loop).

It parses every message it accepts; `wait_for(n)` waits (on an event, never a sleep) until n
messages have arrived. Hooks let a test hold the conversation at a chosen step, e.g. to kill the
sending worker before the message's DATA was accepted.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any, Awaitable, Callable

from aiosmtpd.smtp import SMTP

from tests.support.stores import free_port

Hook = Callable[[Any], Awaitable[None]]


class SmtpSink:
    """Accepts everything; keeps (envelope recipients, parsed message) per delivery."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.on_rcpt: Hook | None = None  # awaited before RCPT is answered
        self.on_data: Hook | None = None  # awaited after DATA is read, before "250" is answered
        self._changed = asyncio.Condition()
        self._server: asyncio.AbstractServer | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        envelope.rcpt_tos.append(address)
        if self.on_rcpt is not None:
            await self.on_rcpt(envelope)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(message)  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        async with self._changed:
            self._changed.notify_all()
        if self.on_data is not None:
            await self.on_data(envelope)
        return "250 Message accepted for delivery"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="sink.test"), "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_for(self, count: int, seconds: float = 30.0) -> list[EmailMessage]:
        """The first `count` messages, once they have arrived (AssertionError after `seconds`)."""
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.received) >= count)
        try:
            await asyncio.wait_for(enough(), seconds)
        except asyncio.TimeoutError:
            raise AssertionError(f"{len(self.received)} of {count} emails arrived within {seconds:g}s") from None
        return self.received[:count]

    def settings(self) -> dict[str, Any]:
        """The `mail` settings that point the app at this server."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none"}


def parts(message: EmailMessage) -> dict[str, Any]:
    """text, html and attachments [(filename, content_type, bytes)] of a parsed message."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    files = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in message.iter_attachments()]
    inline = [p for p in message.walk() if p.get("Content-ID")]
    return {"text": text.get_content() if text else None, "html": html.get_content() if html else None,
            "attachments": files, "inline": inline}
