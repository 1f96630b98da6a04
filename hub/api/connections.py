"""Connections: a cap per client address, and deadlines for the headers.

Slow clients cost little each but add up: 2,000 connections that trickle their
headers, or hundreds that stall in the middle of a body, were held for as long as
they liked. Two bounds, both set where ``cuiban serve`` starts listening:

* **A header deadline.** aiohttp closes a connection that has not finished a request's
  headers when its keep-alive timer runs out — the timer starts when the connection
  is accepted and again after each answer, and data arriving does not push it back.
  We set it to ``http.read_timeout`` (aiohttp's default is an hour). Bodies get the
  same deadline in :mod:`hub.api.bodies`.
* **A cap per client address.** :class:`ConnectionGate` counts open connections per
  peer address; one over ``http.max_connections_per_client`` is closed as soon as it
  is accepted, before a byte is read. Trusted proxies (``http.trusted_proxies``) are
  exempt — each of their connections carries many clients.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from ipaddress import ip_address
from typing import Any

from aiohttp import web

from hub.api.clients import Networks

__all__ = ["ConnectionGate", "GatedSockSite", "runner_options"]


def runner_options(read_timeout: float) -> dict[str, Any]:
    """Keyword arguments for ``web.AppRunner``: the header deadline (see the module doc),
    and as long — at most aiohttp's 10 s — to drain what is left of a refused body."""
    return {"keepalive_timeout": read_timeout, "lingering_time": min(read_timeout, 10.0)}


class ConnectionGate:
    """Open connections per client address, at most ``per_client`` each."""

    def __init__(self, per_client: int, exempt: Networks = ()) -> None:
        self.per_client = per_client
        self.exempt = tuple(exempt)
        self.open: Counter[str] = Counter()
        self.refused = 0

    def _exempt(self, host: str) -> bool:
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.exempt)

    def admit(self, host: str) -> bool:
        if self.open[host] >= self.per_client and not self._exempt(host):
            self.refused += 1
            return False
        self.open[host] += 1
        return True

    def release(self, host: str) -> None:
        self.open[host] -= 1
        if self.open[host] <= 0:
            del self.open[host]


class _Gated(asyncio.Protocol):
    """Admits a connection through the gate, then hands every callback to aiohttp's handler."""

    def __init__(self, gate: ConnectionGate, factory: Callable[[], asyncio.Protocol]) -> None:
        self._gate = gate
        self._factory = factory
        self._inner: asyncio.Protocol | None = None
        self._host = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self._gate.admit(host):
            transport.close()  # nothing read, nothing answered: the cheapest refusal
            return
        self._host = host
        self._inner = self._factory()
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return
        self._gate.release(self._host)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class GatedSockSite(web.SockSite):
    """``web.SockSite`` whose connections pass a :class:`ConnectionGate` first."""

    def __init__(self, runner: web.BaseRunner, sock: Any, *, gate: ConnectionGate) -> None:
        super().__init__(runner, sock)
        self.gate = gate

    async def start(self) -> None:
        # As SockSite.start, with the gate in front of aiohttp's protocol factory.
        await web.BaseSite.start(self)  # registers the site with the runner
        server = self._runner.server
        assert server is not None
        gate = self.gate
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Gated(gate, server), sock=self._sock, backlog=self._backlog
        )
