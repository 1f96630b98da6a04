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
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import structlog

from hub.planning.replan import ReplanResult, replan_years
from hub.services import Services
from hub.store.calendars import (
    NOTIFY_CHANNEL,
    LiveCalendar,
    load_calendar,
    load_official,
    seed_years,
)
from hub.store.queries import Q

log = structlog.get_logger(__name__)

POLL_SECONDS = 5.0


@dataclass(kw_only=True)
class CalendarSync:
    """One process's side of the shared calendar: reload on change, re-plan if it works.

    ``from_database`` is False when a test handed the hub its own calendar;
    ``replans`` is False for an API-only process (a worker does that work).
    """

    services: Services
    calendar: LiveCalendar
    from_database: bool
    replans: bool
    # One change handled at a time (the watcher and an import request), and what the
    # last re-plan did, for the request whose import the watcher handled first.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _last: ReplanResult | None = None

    async def reload(self) -> bool:
        """Serve the database's years if they changed; True if the calendar was swapped."""
        if not self.from_database:
            return False
        async with self.services.pool.acquire() as conn:
            revision = await conn.fetchval(Q["calendar_revision"])
            if revision == self.calendar.revision:
                return False
            official, revision = await load_official(conn)
        self.calendar.swap(official, revision=revision)
        log.info("calendar_reloaded", years=list(self.calendar.years), revision=revision)
        return True

    async def replan_pending(self, now: datetime) -> ReplanResult | None:
        """Re-plan the years imported since their last re-plan, once across all processes."""
        services = self.services
        async with services.pool.acquire() as conn, conn.transaction():
            # Row locks held until the re-plan is marked done; another process skips them.
            pending = await conn.fetch(Q["years_to_replan"])
            if not pending:
                return None
            result = await replan_years(
                services.pool,
                services.routing,
                services.rules,
                [r["year"] for r in pending],
                now=now,
            )
            for row in pending:
                await conn.execute(Q["mark_year_replanned"], row["year"], row["revision"])
        return result

    async def on_change(self) -> ReplanResult | None:
        """A year was imported somewhere: serve it, and re-plan if this process does that.

        Returns what this process re-planned, or (when its watcher got there first) the
        last re-plan it did; None when another process does that work.
        """
        async with self._lock:
            await self.reload()
            if not self.replans:
                return None
            result = await self.replan_pending(self.services.clock.now())
            if result is not None:
                self._last = result
            return self._last

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Seed, serve, and watch for imports (NOTIFY, with a poll as a backstop)."""
        settings = self.services.settings
        pool = self.services.pool
        async with pool.acquire() as conn:
            bundled = load_calendar(settings.database.data_dir, settings.calendar.year_files)
            await seed_years(conn, (bundled.year(y) for y in bundled.years))
        await self.on_change()

        wake = asyncio.Event()
        listener: asyncpg.Connection = await pool.acquire()

        def notified(*_: object) -> None:
            wake.set()

        await listener.add_listener(NOTIFY_CHANNEL, notified)

        async def watch() -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), POLL_SECONDS)
                wake.clear()
                try:
                    await self.on_change()
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
            await pool.release(listener)
