"""The periodic work: APScheduler drives the tick and the daily digest, never one job per deadline.

Deadlines live as ``timers`` rows in PostgreSQL; APScheduler (3.x) only runs
the periodic jobs — the tick, the 08:30 digest, the monthly report, project
digests, pruning. The tick fires what is due and looks ahead for the next due timer, which
it waits for with an in-process timer so reminders fire on time without
polling every instant. Every job is idempotent (claims with SKIP LOCKED, dedupe
keys), so any number of processes may run them. Under the manual test clock
nothing runs by itself: ``POST /v1/test-clock/advance`` calls ``advance``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub.clock import AcceleratedClock, ManualClock, real_seconds_until
from hub.keys import CLOCK, METRICS, PLANNER, POOL, SERVICES, TEST_CLOCK_HOOKS
from hub.planning.planner import Planner
from hub.planning.project_digest import project_digest_job
from hub.planning.tick import TickResult
from hub.supervision.report import monthly_report_job

log = structlog.get_logger(__name__)

TICK_SECONDS = 5.0
DIGEST_CHECK_SECONDS = 30.0


class Ticker:
    """Fires due timers now, and arms one in-process wake-up for the next due timer."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._wakeup: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()

    @property
    def planner(self) -> Planner:
        return self.app[PLANNER]

    async def tick(self) -> None:
        async with self._lock:
            clock = self.app[CLOCK]
            pool = self.app[POOL]
            result = await self.planner.fire_due(pool, clock.now())
            if result.fired:
                log.info("timers_fired", count=result.fired)
            self.app[METRICS].inc("cuiban_timers_fired_total", result.fired)
            self.app[METRICS].inc("cuiban_timers_set_aside_total", len(result.set_aside))
            upcoming = await self.planner.next_fire_at(pool)
        self._arm(upcoming)

    def _arm(self, upcoming: datetime | None) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        if upcoming is None:
            return
        delay = real_seconds_until(self.app[CLOCK], upcoming)
        if delay < TICK_SECONDS:
            loop = asyncio.get_running_loop()
            self._wakeup = loop.call_later(delay, lambda: loop.create_task(self.tick()))

    async def digest(self) -> None:
        count = await self.planner.daily_digest(self.app[POOL], self.app[CLOCK].now())
        if count:
            log.info("daily_digest_queued", count=count)

    async def prune(self) -> None:
        pruned = await self.planner.prune(self.app[POOL], self.app[CLOCK].now())
        if pruned:
            log.info("timers_pruned", count=pruned)

    async def monthly_report(self) -> None:
        sent = await monthly_report_job(self.app[SERVICES], self.app[CLOCK].now())
        if sent:
            log.info("monthly_report_queued", count=sent)

    async def project_digests(self) -> None:
        sent = await project_digest_job(self.app[SERVICES], self.app[CLOCK].now())
        if sent:
            log.info("project_digests_queued", count=sent)

    def stop(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()


async def advance(app: web.Application, now: datetime) -> TickResult:
    """The manual clock moved: fire every timer due by ``now``, then the periodic notices."""
    result = await app[PLANNER].fire_due(app[POOL], now)
    app[METRICS].inc("cuiban_timers_fired_total", result.fired)
    app[METRICS].inc("cuiban_timers_set_aside_total", len(result.set_aside))
    await app[PLANNER].daily_digest(app[POOL], now)
    await monthly_report_job(app[SERVICES], now)
    await project_digest_job(app[SERVICES], now)
    return result


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    if isinstance(app[CLOCK], ManualClock):

        async def hook(now: datetime) -> TickResult:
            return await advance(app, now)

        # First in line: timers become messages before the dispatcher drains them.
        app[TEST_CLOCK_HOOKS].insert(0, hook)
        yield
        return

    ticker = Ticker(app)
    scheduler = AsyncIOScheduler()
    start = datetime.now().astimezone() + timedelta(milliseconds=50)
    scheduler.add_job(
        ticker.tick,
        "interval",
        seconds=TICK_SECONDS,
        next_run_time=start,
        max_instances=1,
        coalesce=True,
        id="tick",
    )
    # An accelerated clock crosses 08:30 in moments: look more often.
    digest_every = 1.0 if isinstance(app[CLOCK], AcceleratedClock) else DIGEST_CHECK_SECONDS
    scheduler.add_job(
        ticker.digest,
        "interval",
        seconds=digest_every,
        next_run_time=start,
        max_instances=1,
        coalesce=True,
        id="daily_digest",
    )
    scheduler.add_job(
        ticker.monthly_report,
        "interval",
        seconds=digest_every,
        next_run_time=start,
        max_instances=1,
        coalesce=True,
        id="monthly_report",
    )
    # An accelerated clock lives through an hour in moments too.
    project_every = 1.0 if isinstance(app[CLOCK], AcceleratedClock) else 3600.0
    scheduler.add_job(
        ticker.project_digests,
        "interval",
        seconds=project_every,
        next_run_time=start,
        max_instances=1,
        coalesce=True,
        id="project_digest",
    )
    scheduler.add_job(
        ticker.prune,
        "interval",
        hours=1,
        next_run_time=start,
        max_instances=1,
        coalesce=True,
        id="prune",
    )
    scheduler.start()
    try:
        yield
    finally:
        scheduler.pause()
        await _finish_running_jobs(scheduler)
        scheduler.shutdown(wait=False)
        ticker.stop()


JOB_FINISH_SECONDS = 30.0


async def _finish_running_jobs(scheduler: AsyncIOScheduler) -> None:
    """Let jobs already running (a monthly report, a tick) finish before the pool closes.

    APScheduler 3's asyncio executor cancels them on ``shutdown`` and logs each
    CancelledError as a job failure with a traceback; every job is a transaction
    or idempotent, so waiting is both quieter and complete.
    """
    # Private attributes: APScheduler 3 offers no public way to wait for running jobs.
    executor = scheduler._lookup_executor("default")
    running = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
    if running:
        await asyncio.wait(running, timeout=JOB_FINISH_SECONDS)
