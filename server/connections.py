"""The per-IP cap on open connections (applied by server/app.py's runner and server/middleware.py).

The idle timeout is aiohttp's own keep-alive timer (handler_args in create_app): it is armed when a
connection opens and after every response, and closes a connection that has not completed a request
by then, so it also ends connections trickling header lines and unfinished WebSocket handshakes.

The per-IP cap counts TCP connections (HTTP keep-alive and WebSockets alike) per worker process:
with N workers one IP may hold up to N x server.connections_per_ip. A connection over the cap is
answered 429 on its first request (a clean HTTP answer, which a close before reading could turn
into a reset) and closed; one that never sends a request meets the idle timeout.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from aiohttp import web

from server.config import ServerSettings

log = logging.getLogger(__name__)


class ConnectionCap:
    """Open connections per client IP in this worker; those over the cap are marked refused."""

    def __init__(self, limits: ServerSettings) -> None:
        self.per_ip = limits.connections_per_ip
        self.uncapped = frozenset(limits.uncapped_ips)
        # A trusted load balancer carries many clients on its connections: capped per client there.
        self.proxies = tuple(ipaddress.ip_network(net, strict=False) for net in limits.trusted_proxies)
        self.open: dict[str, int] = {}
        self._ip_of: dict[Any, str] = {}  # counted connection (its protocol) -> IP
        self.refused: set[Any] = set()

    def attach(self, server: web.Server) -> None:
        """Count the connections this aiohttp server accepts (wraps its connection callbacks)."""
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            made(handler, transport)
            self.opened(handler, transport.get_extra_info("peername"))

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            self.closed(handler)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

    def opened(self, handler: Any, peer: Any) -> None:
        """A connection from `peer` opened: counted, or marked refused when its IP is at the cap."""
        ip = peer[0] if isinstance(peer, tuple) else None
        if ip is None or self.per_ip <= 0 or ip in self.uncapped or self._is_proxy(ip):
            return
        if self.open.get(ip, 0) >= self.per_ip:
            self.refused.add(handler)
            return
        self.open[ip] = self.open.get(ip, 0) + 1
        self._ip_of[handler] = ip

    def _is_proxy(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in net for net in self.proxies)

    def closed(self, handler: Any) -> None:
        """A connection closed: its IP's count goes down."""
        self.refused.discard(handler)
        ip = self._ip_of.pop(handler, None)
        if ip is not None:
            left = self.open[ip] - 1
            if left:
                self.open[ip] = left
            else:
                del self.open[ip]
