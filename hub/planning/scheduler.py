"""The periodic work: APScheduler drives the tick and the daily digest, never one job per deadline.

Deadlines live as ``timers`` rows in PostgreSQL; APScheduler (3.x) only runs
the periodic jobs — the tick, the 08:30 digest, the monthly report, project
digests, pruning. The tick fires what is due and looks ahead for the next due timer, which
it waits for with an in-process timer so reminders fire on time without
polling every instant. Every job is idempotent (claims with SKIP LOCKED, dedupe
keys), so any number of processes may run them. Under the manual test clock
nothing runs by itself: ``POST /v1/test-clock/advance`` stops at each instant
:class:`ManualSchedule` names and runs it there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta, tzinfo

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.calendar import WorkingCalendar
from core.errors import CalendarYearUnknown
from hub.clock import AcceleratedClock, ManualClock, real_seconds_until
from hub.keys import (
    CALENDAR,
    CLOCK,
    METRICS,
    PLANNER,
    POOL,
    SERVICES,
    TEST_CLOCK_HOOKS,
    ClockWorker,
)
from hub.planning.digests import DIGEST_AT, digest_due
from hub.planning.planner import Planner
from hub.planning.project_digest import project_digest_job
from hub.planning.tick import TickResult
from hub.privacy.retention import RetentionJob
from hub.store.queries import Q
from hub.supervision.calendar_status import weekly_calendar_warning
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
        self._retention = RetentionJob()

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

    async def calendar_warning(self) -> None:
        sent = await weekly_calendar_warning(self.app[SERVICES], self.app[CLOCK].now())
        if sent:
            log.info("calendar_warning_queued", count=sent)

    async def monthly_report(self) -> None:
        sent = await monthly_report_job(self.app[SERVICES], self.app[CLOCK].now())
        if sent:
            log.info("monthly_report_queued", count=sent)

    async def project_digests(self) -> None:
        sent = await project_digest_job(self.app[SERVICES], self.app[CLOCK].now())
        if sent:
            log.info("project_digests_queued", count=sent)

    async def retention(self) -> None:
        await self._retention.run(self.app[SERVICES], self.app[CLOCK].now())

    def stop(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()


class ManualSchedule:
    """The periodic work on the manual clock, at the instants the system clock would do it.

    The clock stops for each timer at its ``fire_at``; at 08:30 of each working day
    for the digest; at the start of each month's first working day for the monthly
    report; on the hour for project digests (while any case belongs to a project), as
    the hourly job sends them. The system clock looks for digests owed every 30 s
    until noon, so a reviewer whose first node arrives at 10:00 gets one at once: here
    the clock stops for that when events came in during the digest window.
    """

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._project_hour: datetime | None = None
        self._digest_seen: int | None = None  # the last event the digest looked at
        self._retention = RetentionJob()  # once a local day, at the first stop of the day

    @property
    def _tz(self) -> tzinfo:
        return self.app[PLANNER].routing.tz

    async def run(self, now: datetime) -> TickResult:
        """Fire every timer due by ``now``, then the periodic notices that are due."""
        app = self.app
        result = await app[PLANNER].fire_due(app[POOL], now)
        app[METRICS].inc("cuiban_timers_fired_total", result.fired)
        app[METRICS].inc("cuiban_timers_set_aside_total", len(result.set_aside))
        if self._in_digest_window(now):
            async with app[POOL].acquire() as conn:
                self._digest_seen = await conn.fetchval(Q["latest_event_seq"])
            await app[PLANNER].daily_digest(app[POOL], now)
        await monthly_report_job(app[SERVICES], now)
        await weekly_calendar_warning(app[SERVICES], now)
        hour = now.replace(minute=0, second=0, microsecond=0)
        if self._project_hour is None or hour > self._project_hour:
            self._project_hour = hour
            await project_digest_job(app[SERVICES], now)
        await self._retention.run(app[SERVICES], now)
        return result

    async def next_due(self, after: datetime | None) -> datetime | None:
        """The next timer, digest, first working day of a month or project hour."""
        app = self.app
        now = app[CLOCK].now()
        async with app[POOL].acquire() as conn:
            if after is None:
                timer: datetime | None = await conn.fetchval(Q["next_timer"])
                if self._in_digest_window(now):
                    latest = await conn.fetchval(Q["latest_event_seq"])
                    if latest != self._digest_seen:
                        return now  # new work came in since the digest last looked
            else:
                timer = await conn.fetchval(Q["next_timer_after"], after)
            projects = bool(await conn.fetchval(Q["any_project_case"]))
        since = after or now
        instants = [
            timer,
            self._next_local(since, DIGEST_AT, inclusive=after is None, first_of_month=False),
            self._next_local(since, time(0), inclusive=after is None, first_of_month=True),
        ]
        if projects:
            instants.append(since.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        return min((i for i in instants if i is not None), default=None)

    def _in_digest_window(self, now: datetime) -> bool:
        return digest_due(self.app[PLANNER].routing, now)

    def _next_local(
        self, since: datetime, at: time, *, inclusive: bool, first_of_month: bool
    ) -> datetime | None:
        """The first ``at`` (local) on a working day — the first of its month, if asked —
        after ``since``; None past the years the calendar knows."""
        calendar = self.app[CALENDAR]
        day = since.astimezone(self._tz).date()
        for _ in range(62):
            candidate = datetime.combine(day, at, self._tz)
            late = candidate < since or (candidate == since and not inclusive)
            try:
                wanted = calendar.is_working_day(day) and (
                    not first_of_month or _first_working_day_of_month(calendar, day)
                )
            except CalendarYearUnknown:
                return None
            if wanted and not late:
                return candidate
            day += timedelta(days=1)
        return None


def _first_working_day_of_month(calendar: WorkingCalendar, day: date) -> bool:
    first = day.replace(day=1)
    return not any(
        calendar.is_working_day(first + timedelta(days=n)) for n in range((day - first).days)
    )


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    if isinstance(app[CLOCK], ManualClock):
        schedule = ManualSchedule(app)
        # First in line: timers become messages before the dispatcher drains them.
        app[TEST_CLOCK_HOOKS].insert(
            0, ClockWorker(name="scheduler", run=schedule.run, next_due=schedule.next_due)
        )
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
    scheduler.add_job(
        ticker.calendar_warning,
        "interval",
        seconds=3600.0,
        next_run_time=start,
        max_instances=1,
        coalesce=True,
        id="calendar_warning",
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
        ticker.retention,
        "interval",
        seconds=project_every,  # once a local day does the work; the rest return at once
        next_run_time=start,
        max_instances=1,
        coalesce=True,
        id="retention",
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
