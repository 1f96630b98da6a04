"""Calendar years shared by every hub process: seeded at start, picked up on NOTIFY.

At start a process stores the bundled (and configured) years the database lacks,
then serves what the database holds. ``cuiban calendar import`` and the admin API
store a year and ``NOTIFY cuiban_calendar``; every process LISTENs and swaps its
live calendar within moments (a poll every few seconds covers a lost connection).
Then one process — the first to lock the year's row — re-plans what the year
touches (:mod:`hub.planning.replan`) and marks the revision done, so the
deadlines, timers and applicants are updated exactly once however many processes run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import structlog
from aiohttp import web

from hub.keys import CALENDAR, CLOCK, POOL, ROLE, ROUTING, RULES, SETTINGS
from hub.planning.replan import ReplanResult, replan_years
from hub.store.calendars import NOTIFY_CHANNEL, load_calendar, load_official, seed_years
from hub.store.queries import Q

log = structlog.get_logger(__name__)

POLL_SECONDS = 5.0

#: Whether the app serves the database's years (False: a calendar handed in by a test).
FROM_DATABASE = web.AppKey("calendar_from_database", bool)
#: One change handled at a time per process (the watcher and an import request), and
#: what the last re-plan did, for the request whose import the watcher handled first.
_LOCK = web.AppKey("calendar_lock", asyncio.Lock)
_LAST = web.AppKey("calendar_last_replan", list[ReplanResult])


async def reload(app: web.Application) -> bool:
    """Serve the database's years if they changed; True if the calendar was swapped."""
    if not app[FROM_DATABASE]:
        return False
    async with app[POOL].acquire() as conn:
        revision = await conn.fetchval(Q["calendar_revision"])
        if revision == app[CALENDAR].revision:
            return False
        official, revision = await load_official(conn)
    app[CALENDAR].swap(official, revision=revision)
    log.info("calendar_reloaded", years=list(app[CALENDAR].years), revision=revision)
    return True


async def replan_pending(app: web.Application, now: datetime) -> ReplanResult | None:
    """Re-plan the years imported since their last re-plan, once across all processes."""
    pool = app[POOL]
    async with pool.acquire() as conn, conn.transaction():
        # Row locks held until the re-plan is marked done; another process skips them.
        pending = await conn.fetch(Q["years_to_replan"])
        if not pending:
            return None
        result = await replan_years(
            pool, app[ROUTING], app[RULES], [r["year"] for r in pending], now=now
        )
        for row in pending:
            await conn.execute(Q["mark_year_replanned"], row["year"], row["revision"])
    return result


async def on_change(app: web.Application) -> ReplanResult | None:
    """A year was imported somewhere: serve it, and re-plan if this process does that work.

    Returns what this process re-planned, or (when its watcher got there first) the
    last re-plan it did; None when another process does that work.
    """
    async with app[_LOCK]:
        await reload(app)
        if app[ROLE] not in ("all", "worker"):
            return None
        result = await replan_pending(app, app[CLOCK].now())
        if result is not None:
            app[_LAST][:] = [result]
        return app[_LAST][0] if app[_LAST] else None


async def calendar_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[_LOCK] = asyncio.Lock()
    app[_LAST] = []
    async with app[POOL].acquire() as conn:
        bundled = load_calendar(settings.database.data_dir, settings.calendar.year_files)
        await seed_years(conn, (bundled.year(y) for y in bundled.years))
    await on_change(app)

    wake = asyncio.Event()
    listener: asyncpg.Connection = await app[POOL].acquire()

    def notified(*_: object) -> None:
        wake.set()

    await listener.add_listener(NOTIFY_CHANNEL, notified)

    async def watch() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL_SECONDS)
            wake.clear()
            try:
                await on_change(app)
            except Exception:  # a failed reload is tried again at the next poll
                log.exception("calendar_reload_failed")

    task = asyncio.create_task(watch())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await listener.remove_listener(NOTIFY_CHANNEL, notified)
        await app[POOL].release(listener)
