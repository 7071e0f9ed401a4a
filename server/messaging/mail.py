"""Email: compose a message (plain text + HTML, inline images, attachments) and send it by SMTP.

`send_email` is the one call for any email with attachments (order confirmations here, monthly
report PDFs later): it composes and sends in one step. The SMTP server comes from `mail` in
config.yaml (aiosmtplib: plain, STARTTLS or implicit TLS, optional login).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
import datetime as dt
from typing import Sequence

import aiosmtplib

from server.config import MailSettings


@dataclass(frozen=True)
class Attachment:
    """A file attached to an email; with `cid` it is an inline image the HTML shows (cid:...)."""

    filename: str
    content_type: str  # e.g. application/pdf
    data: bytes
    cid: str | None = None


@dataclass(frozen=True)
class Email:
    """What an email says, before it is addressed and framed."""

    subject: str
    text: str
    html: str
    attachments: Sequence[Attachment] = field(default_factory=tuple)


def sender_domain(mail: MailSettings) -> str:
    """The domain of the From: address (Message-IDs are made under it)."""
    return parseaddr(mail.sender)[1].rpartition("@")[2] or "houseful.local"


def compose(mail: MailSettings, to: str, email: Email, *, message_id: str, date: dt.datetime) -> EmailMessage:
    """The MIME message: text, then HTML with its inline images, then the attachments."""
    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = to
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(date)
    # Stable per message: a retry after an unclear send carries the same id, so mail systems
    # (and people) can tell a duplicate from a new message.
    msg["Message-ID"] = message_id
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    html_part = msg.get_payload()[-1]
    for item in email.attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if item.cid:
            html_part.add_related(item.data, maintype=maintype, subtype=subtype, cid=f"<{item.cid}>",
                                  filename=item.filename)
    for item in email.attachments:
        if not item.cid:
            maintype, _, subtype = item.content_type.partition("/")
            msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg


async def send(mail: MailSettings, message: EmailMessage) -> None:
    """Hand a composed message to the configured SMTP server (raises on refusal or timeout)."""
    await aiosmtplib.send(
        message, hostname=mail.smtp_host, port=mail.smtp_port, timeout=mail.timeout_seconds,
        use_tls=mail.smtp_security == "tls", start_tls=True if mail.smtp_security == "starttls" else False,
        username=mail.smtp_username or None, password=mail.smtp_password or None,
    )


async def send_email(mail: MailSettings, to: str, email: Email, *, message_id: str, date: dt.datetime) -> None:
    """Compose and send one email with its attachments."""
    await send(mail, compose(mail, to, email, message_id=message_id, date=date))
