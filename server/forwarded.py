"""The client's address behind a load balancer: X-Forwarded-For, believed only from trusted proxies.

Rate limits, login throttles and the per-IP caps count by `request.remote`. Behind HAProxy every
connection comes from the proxy, so the proxy's X-Forwarded-For names the client instead — but
only when the peer is one of server.trusted_proxies: anyone else could write any address there.
Walking the header from the right, the first address that is not a trusted proxy is the client
(a client's own made-up entries sit further left and are never reached). aiohttp-remotes'
XForwardedFiltered does not check the peer itself and XForwardedStrict refuses every direct
connection, so this is the small rule we need instead.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Awaitable

from aiohttp import web
from aiohttp.typedefs import Handler

from server import keys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in trusted)


def _trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: list[str], networks: tuple[Network, ...]) -> str | None:
    """The client's address: the peer, or (from a trusted proxy) the right-most untrusted forwarded one."""
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain proves nothing: count the proxy itself
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


@web.middleware
def forwarded_client(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """Serve the request as from its real client when a trusted proxy forwarded it.

    Not `async`: it hands back the handler's awaitable (a tail call), so no frame of it stays
    on the stack of a WebSocket for the socket's whole life (server/middleware.py, issue 12).
    """
    networks = _networks(request.app[keys.SETTINGS].server.trusted_proxies)
    if networks:
        client = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), networks)
        if client != request.remote:
            request = request.clone(remote=client)
    return handler(request)
