"""The demo mailbox (staff): every email the demo's local catcher received (docs/messages.md)."""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from server import keys
from server.api.http import endpoint, json_response
from server.messaging import mailbox

TAG = "demo mailbox"
# The message's own HTML runs in a sandboxed frame of the mailbox page: nothing but its inline
# styles and images (data: URIs) may load, and only this site may frame it.
HTML_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
LIST = {"type": "object", "properties": {"messages": {"type": "array", "items": {"type": "object"}}}}


def _folder(request: web.Request) -> Any:
    return mailbox.mailbox_dir(request.app[keys.SETTINGS])


def _key(request: web.Request) -> str:
    return request.match_info["key"]


@endpoint("Emails the demo's mail catcher received, newest first", tag=TAG, role="staff", response=LIST)
async def list_messages(request: web.Request) -> web.Response:
    """GET /api/mailbox."""
    return json_response({"messages": mailbox.list_messages(_folder(request))})


@endpoint("One email of the demo mailbox: headers, plain text, attachments", tag=TAG, role="staff",
          response={"type": "object"}, errors=(404,))
async def get_message(request: web.Request) -> web.Response:
    """GET /api/mailbox/{key}."""
    return json_response(mailbox.read_message(_folder(request), _key(request)))


@endpoint("The HTML body of a demo email (for a sandboxed frame)", tag=TAG, role="staff", errors=(404,))
async def message_html(request: web.Request) -> web.Response:
    """GET /api/mailbox/{key}/html."""
    html = mailbox.message_html(_folder(request), _key(request))
    return web.Response(text=html, content_type="text/html",
                        headers={"Content-Security-Policy": HTML_CSP, "X-Frame-Options": "SAMEORIGIN"})


@endpoint("Download an attachment of a demo email", tag=TAG, role="staff", errors=(404,))
async def message_attachment(request: web.Request) -> web.Response:
    """GET /api/mailbox/{key}/attachments/{index}."""
    name, ctype, data = mailbox.attachment(_folder(request), _key(request), int(request.match_info["index"]))
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return web.Response(body=data, content_type=ctype, headers={"Content-Disposition": f'attachment; filename="{safe}"'})
