"""Web Push: the server's VAPID keys, which push services we talk to, and sending one notification.

The VAPID key pair is generated once into <data_dir>/vapid_private.pem (like the JWT secret);
browsers subscribe with its public key. A subscription's endpoint is a URL the browser hands us,
so only the configured push services are ever contacted (push.allowed_hosts, https): the server
never POSTs to an address a client made up. Payloads are encrypted for the browser (aes128gcm,
RFC 8291) by pywebpush; the push service sees only ciphertext.
"""
from __future__ import annotations

import base64
import os
from typing import Any, Mapping
from urllib.parse import urlsplit

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from server.config import PushSettings, Settings, data_path
from server.errors import InvalidInput

KEY_FILE = "vapid_private.pem"
GONE = frozenset({404, 410})  # the browser unsubscribed: forget the subscription
TIMEOUT_SECONDS = 15.0


def load_vapid(settings: Settings) -> Vapid:
    """The server's VAPID key pair, generated into the data directory the first time (mode 0600)."""
    path = data_path(settings) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = Vapid()
        fresh.generate_keys()
        pem = fresh.private_pem()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker wrote it first: use theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    return Vapid.from_file(str(path))


def public_key(vapid: Vapid) -> str:
    """The applicationServerKey browsers subscribe with: the raw P-256 point, base64url."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check_endpoint(push: PushSettings, endpoint: str) -> str:
    """A subscription endpoint on an allowed push service; InvalidInput(field=endpoint) otherwise."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    allowed = any(host == h or (h.startswith(".") and host.endswith(h)) for h in push.allowed_hosts)
    scheme_ok = parts.scheme == "https" or (push.allow_http and parts.scheme == "http")
    if not allowed or not scheme_ok:
        raise InvalidInput("this push service is not supported", field="endpoint")
    return endpoint


async def send_push(http: aiohttp.ClientSession, vapid: Vapid, push: PushSettings,
                    subscription: Mapping[str, Any], payload: Mapping[str, Any]) -> int:
    """Encrypt and send one notification to one browser; the push service's HTTP status."""
    info = {"endpoint": check_endpoint(push, subscription["endpoint"]),
            "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]}}
    try:
        response = await webpush_async(info, orjson.dumps(dict(payload)).decode(), vapid_private_key=vapid,
                                       vapid_claims={"sub": push.subject}, ttl=push.ttl_seconds,
                                       timeout=TIMEOUT_SECONDS, aiohttp_session=http)
    except WebPushException as exc:
        if exc.response is not None:
            return int(exc.response.status)
        raise
    return int(response.status)  # type: ignore[union-attr]
