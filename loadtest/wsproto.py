"""A lean WebSocket client (RFC 6455 by hand on an asyncio transport) for the line's waiting sockets.

A rush puts 10,000 customers in line on one load process. With aiohttp's client each of them
is a ClientWebSocketResponse, a reader task, a message queue and a future per frame; profiled
at 10,000 arrivals (bench/RESULTS.md, issue 12) the load tool was the one at 100 % of its core.
This client is still a real WebSocket over real TCP (the same handshake and frames a browser
sends: masked text frames out, the server's frames parsed and answered, close and ping included),
but a frame costs one callback: `on_text(payload)` runs from `data_received`, nothing else.
Unmasked server frames only (what a server sends); no extensions (none is offered).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import ssl
import struct
from typing import Callable
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
MAX_HEAD = 16_384  # a handshake answer longer than this is not one


class HandshakeError(OSError):
    """The server did not switch protocols as asked (an OSError: the load tool counts it as one)."""


class WaitingSocket(asyncio.Protocol):
    """One client WebSocket: `on_text(bytes)` per text message, `on_closed()` once at the end."""

    def __init__(self, on_text: Callable[[bytes], None], on_closed: Callable[[], None]) -> None:
        self.on_text, self.on_closed = on_text, on_closed
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._key = base64.b64encode(os.urandom(16))
        self._request = b""
        self._buf = bytearray()
        self._head_done = False
        self._gone = False

    # --- the handshake ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self._request)  # type: ignore[union-attr]

    def _handshake(self) -> None:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_HEAD:
                self._fail(HandshakeError("no end to the handshake's answer"))
            return
        head, self._buf = bytes(self._buf[:end]).decode("latin-1").split("\r\n"), self._buf[end + 4:]
        status = head[0].split(" ", 2)
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
        accept = base64.b64encode(hashlib.sha1(self._key + GUID).digest()).decode()
        if len(status) < 2 or status[1] != "101":
            self._fail(HandshakeError(f"upgrade refused: {head[0]}"))
        elif fields.get("sec-websocket-accept") != accept or fields.get("upgrade", "").lower() != "websocket":
            self._fail(HandshakeError("bad Sec-WebSocket-Accept or Upgrade in the 101"))
        else:
            self._head_done = True
            if not self.opened.done():
                self.opened.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    # --- frames -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._head_done:
            self._handshake()
            if not self._head_done:
                return
        buf = self._buf
        at, size = 0, len(buf)
        while size - at >= 2:
            b0, b1 = buf[at], buf[at + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = struct.unpack_from("!H", buf, at + 2)[0], 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = struct.unpack_from("!Q", buf, at + 2)[0], 10
            if b1 & 0x80 or not b0 & 0x80:  # a masked or fragmented server frame: not what Houseful sends
                self._fail(HandshakeError("masked or fragmented frame from the server"))
                return
            if size - at < head + length:
                break
            payload = bytes(buf[at + head:at + head + length])
            at += head + length
            opcode = b0 & 0x0F
            if opcode == TEXT:
                self.on_text(payload)
            elif opcode == PING:
                self._send(PONG, payload)
            elif opcode == CLOSE:
                self._send(CLOSE, payload[:2])
                if self.transport is not None:
                    self.transport.close()
                break
        del buf[:at]

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        n = len(payload)
        head = bytes((0x80 | opcode,)) + (bytes((0x80 | n,)) if n < 126 else b"\xfe" + struct.pack("!H", n))
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        self.transport.write(head + mask + masked)

    def send_text(self, payload: bytes) -> None:
        """One masked text frame (commands are small: under 64 KiB)."""
        if len(payload) > 0xFFFF:
            raise ValueError("a line command is under 64 KiB")
        self._send(TEXT, payload)

    def close(self) -> None:
        """Send a normal close and drop the connection (the server needs no more of it)."""
        self._send(CLOSE, struct.pack("!H", 1000))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or HandshakeError("closed during the handshake"))
        if not self._gone:
            self._gone = True
            self.on_closed()


_RESOLVED: dict[tuple[str, int], str] = {}  # host -> address, once per process (not one lookup per arrival)
_TLS: list[ssl.SSLContext] = []  # one context per process (loading the CAs per arrival costs ms)


def _tls() -> ssl.SSLContext:
    if not _TLS:
        _TLS.append(ssl.create_default_context())  # honours SSL_CERT_FILE (make cluster's certificate)
    return _TLS[0]


async def open_socket(url: str, headers: dict[str, str], on_text: Callable[[bytes], None],
                      on_closed: Callable[[], None], timeout: float = 30.0) -> WaitingSocket:
    """Connect to a ws:// or wss:// URL and complete the handshake (HandshakeError, OSError, TimeoutError)."""
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if secure else 80)
    loop = asyncio.get_running_loop()
    address = _RESOLVED.get((host, port))
    if address is None:
        info = await loop.getaddrinfo(host, port, type=0, proto=6)
        address = _RESOLVED[host, port] = info[0][4][0]
    proto = WaitingSocket(on_text, on_closed)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {proto._key.decode()}", "Sec-WebSocket-Version: 13",
             *(f"{k}: {v}" for k, v in headers.items())]
    proto._request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    try:
        async with asyncio.timeout(timeout):
            await loop.create_connection(lambda: proto, address, port,
                                         ssl=_tls() if secure else None,
                                         server_hostname=host if secure else None)
            await proto.opened
    except BaseException:
        if not proto.opened.done():
            proto.opened.cancel()  # nobody will read it now
        if proto.transport is not None:
            proto.transport.abort()  # a handshake that timed out or failed leaves no socket behind
        raise
    return proto
