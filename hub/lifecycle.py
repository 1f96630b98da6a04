"""Background workers that run by themselves, or when the manual test clock moves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

from aiohttp import web

from hub.clock import ManualClock
from hub.keys import CLOCK, TEST_CLOCK_HOOKS


@contextlib.asynccontextmanager
async def run_or_hook(
    app: web.Application,
    *,
    drain: Callable[[datetime], Awaitable[object]],
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
) -> AsyncIterator[None]:
    """Under a manual clock nothing moves by itself: ``drain`` runs as the clock advances
    (after the hooks already registered). Otherwise the worker runs in the background."""

    async def hook(now: datetime) -> None:
        await drain(now)

    manual = isinstance(app[CLOCK], ManualClock)
    if manual:
        app[TEST_CLOCK_HOOKS].append(hook)
    else:
        await start()
    try:
        yield
    finally:
        if manual:
            with contextlib.suppress(ValueError):
                app[TEST_CLOCK_HOOKS].remove(hook)
        else:
            await stop()
