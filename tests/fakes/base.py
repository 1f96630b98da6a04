"""Shared plumbing for the HTTP fakes: a loopback server, a fault queue, a request log."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

FAULTS = ("unavailable", "hang", "throttle", "reject_recipient", "garbled", "json_list")


class FakeHttpServer:
    """A provider fake: subclasses add routes in :meth:`routes` and read :meth:`next_fault`."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.add_routes(self.routes())
        self.faults: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []  # every accepted send, as the provider saw it
        self._released = asyncio.Event()
        self._server: TestServer | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> FakeHttpServer:
        self._server = TestServer(self.app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self

    async def close(self) -> None:
        self._released.set()
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def fail(self, *faults: str) -> None:
        """Queue failures for the next requests, in order."""
        for fault in faults:
            assert fault in FAULTS or fault.startswith("code:"), fault
            self.faults.append(fault)

    async def generic_fault(self) -> web.StreamResponse | None:
        """Apply ``unavailable`` / ``hang`` / ``garbled`` / ``json_list`` if one is next;
        leave others to the subclass."""
        if self.faults and self.faults[0] in ("garbled", "json_list"):
            fault = self.faults.popleft()
            if fault == "garbled":  # a proxy's error page, cut, with bytes that are not UTF-8
                return web.Response(status=200, body="<html>网关错误".encode() + b"\xff\xfe</ht")
            return web.Response(status=200, text="[1, 2]", content_type="application/json")
        if self.faults and self.faults[0] in ("unavailable", "hang"):
            fault = self.faults.popleft()
            if fault == "hang":
                # Hold the request until the fake closes: the client's own timeout ends it.
                await self._released.wait()
            return web.Response(status=503, text="Service Unavailable")
        return None

    def take_fault(self) -> str | None:
        return self.faults.popleft() if self.faults else None
