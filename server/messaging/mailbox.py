"""The demo's mail catcher and the mailbox staff read it through (like Mailpit, for newcomers).

`run.py serve --demo` starts the catcher (`python -m server.messaging.mailbox`): an aiosmtpd
server on mail.smtp_host:smtp_port that keeps every message it is given in a Maildir,
<data_dir>/mailbox, and delivers nowhere. The mailbox page (/staff/mailbox) lists and shows those
messages, so the demo's emails can be read without any mail account. Demo only: a deployment
points mail at a real SMTP server and the catcher never runs (docs/messages.md).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import email
import email.policy
import mailbox
import re
import signal
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

from server.config import Settings, data_path
from server.errors import NotFound

KEY = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
MOST = 200  # messages the list shows, newest first


def mailbox_dir(settings: Settings) -> Path:
    """Where the demo's catcher keeps what it received."""
    return data_path(settings) / "mailbox"


class Catcher:
    """aiosmtpd handler: every message goes into the Maildir, none goes anywhere else."""

    def __init__(self, folder: Path) -> None:
        self.box = mailbox.Maildir(folder, create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.add(envelope.content)
        return "250 Message accepted (kept in the demo mailbox)"


async def serve_catcher(host: str, port: int, folder: Path) -> None:
    """Run the catcher until SIGTERM or SIGINT."""
    handler = Catcher(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="houseful-catcher"), host, port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def _parse(box: mailbox.Maildir, key: str) -> EmailMessage:
    if not KEY.match(key):
        raise NotFound("no such message")
    try:
        raw = box.get_bytes(key)
    except KeyError:
        raise NotFound("no such message") from None
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _summary(key: str, msg: EmailMessage) -> dict[str, Any]:
    try:
        date = parsedate_to_datetime(str(msg["Date"])).isoformat() if msg["Date"] else None
    except (TypeError, ValueError):
        date = None
    return {"id": key, "subject": str(msg["Subject"] or ""), "from": str(msg["From"] or ""), "to": str(msg["To"] or ""),
            "date": date, "attachments": [p.get_filename() for p in msg.iter_attachments() if p.get_filename()]}


def list_messages(folder: Path) -> list[dict[str, Any]]:
    """The newest messages first (at most MOST)."""
    if not folder.exists():
        return []
    box = mailbox.Maildir(folder, create=False)
    found = [_summary(key, _parse(box, key)) for key in box.keys() if KEY.match(key)]
    return sorted(found, key=lambda m: m["date"] or "", reverse=True)[:MOST]


def read_message(folder: Path, key: str) -> dict[str, Any]:
    """One message: its headers, plain text and attachments (the HTML is served on its own)."""
    msg = _parse(mailbox.Maildir(folder, create=False), key)
    text = msg.get_body(("plain",))
    return {**_summary(key, msg), "message_id": str(msg["Message-ID"] or ""),
            "text": text.get_content() if text else "", "has_html": msg.get_body(("html",)) is not None}


def message_html(folder: Path, key: str) -> str:
    """The HTML body with its inline images (cid:) turned into data: URIs, ready for a sandboxed frame."""
    msg = _parse(mailbox.Maildir(folder, create=False), key)
    html = msg.get_body(("html",))
    if html is None:
        raise NotFound("this message has no HTML body")
    body = html.get_content()
    for part in msg.walk():
        cid = str(part.get("Content-ID") or "").strip("<>")
        if cid and not part.is_multipart():
            data = base64.b64encode(part.get_payload(decode=True) or b"").decode()
            body = body.replace(f"cid:{cid}", f"data:{part.get_content_type()};base64,{data}")
    return body


def attachment(folder: Path, key: str, index: int) -> tuple[str, str, bytes]:
    """The index-th attachment: (filename, content type, bytes)."""
    msg = _parse(mailbox.Maildir(folder, create=False), key)
    files = [p for p in msg.iter_attachments() if p.get_filename()]
    if not 0 <= index < len(files):
        raise NotFound("no such attachment")
    part = files[index]
    return str(part.get_filename()), part.get_content_type(), part.get_payload(decode=True) or b""


def main() -> None:
    """python -m server.messaging.mailbox --host 127.0.0.1 --port 1025 --dir .data/mailbox"""
    parser = argparse.ArgumentParser(description="Houseful's demo mail catcher")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    asyncio.run(serve_catcher(args.host, args.port, Path(args.dir)))


if __name__ == "__main__":
    main()
