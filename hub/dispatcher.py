"""The outbox dispatcher (being built): claims due messages and sends them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web


async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
