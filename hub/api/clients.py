"""The real client behind a reverse proxy: ``X-Forwarded-For`` / ``Forwarded``, believed only
from ``http.trusted_proxies``.

Every per-client limit (SMS codes, wrong lookups, wrong callback tokens, wrong sign-in
keys) keys on ``request.remote``. Behind nginx that is the proxy, so one client would
use up everyone's quota. This middleware runs first and, when the connecting peer is a
trusted proxy, replaces ``request.remote`` with the client the proxies name:

* walk the chain from the right (the hop nearest us) and take the first address that
  is not itself a trusted proxy — the rightmost address nobody we trust could have
  forged (RFC 7239 §7.4; MDN "X-Forwarded-For: Security and privacy concerns");
* when every hop is trusted, the leftmost;
* ``Forwarded: for=`` (RFC 7239) is read when there is no ``X-Forwarded-For``;
  obfuscated or unknown nodes (``for=_hidden``, ``for=unknown``) and malformed
  entries end the walk, leaving the last good address.

From any other peer the headers are ignored: a client cannot pick its own address.
Why not ``aiohttp-remotes``: decision 0019.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

__all__ = ["Networks", "client_address", "real_client_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Networks = Sequence[IPv4Network | IPv6Network]
Address = IPv4Address | IPv6Address


def _address(text: str) -> Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.partition(":")[0]
    try:
        found = ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:192.0.2.1) is that IPv4 client.
    mapped = found.ipv4_mapped if isinstance(found, IPv6Address) else None
    return mapped or found


def _trusted(address: Address, proxies: Networks) -> bool:
    return any(address in network for network in proxies)


def _chain(request: web.Request) -> list[str]:
    """The addresses the proxies recorded, leftmost (the original client) first."""
    forwarded_for = request.headers.getall(hdrs.X_FORWARDED_FOR, [])
    if forwarded_for:
        return [part for header in forwarded_for for part in header.split(",")]
    return [str(entry.get("for", "")) for entry in request.forwarded]


def client_address(peer: str | None, chain: Sequence[str], proxies: Networks) -> str | None:
    """The client's address: ``peer`` unless it is a trusted proxy, then walk ``chain``."""
    found = _address(peer) if peer else None
    if found is None or not _trusted(found, proxies):
        return peer
    client: Address = found
    for text in reversed(chain):
        hop = _address(text)
        if hop is None:
            break
        client = hop
        if not _trusted(hop, proxies):
            break
    return str(client)


def real_client_middleware(proxies: Networks) -> Middleware:
    """Set ``request.remote`` to the real client (see the module docstring)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not proxies:
            return await handler(request)
        client = client_address(request.remote, _chain(request), proxies)
        if client is not None and client != request.remote:
            request = request.clone(remote=client)
        return await handler(request)

    return middleware
