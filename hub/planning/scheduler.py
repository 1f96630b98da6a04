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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

import asyncpg
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.calendar import WorkingCalendar
from core.errors import CalendarYearUnknown
from hub.clock import AcceleratedClock, Clock, real_seconds_until
from hub.metrics import Metrics
from hub.planning.digests import DIGEST_AT, digest_due
from hub.planning.planner import Planner
from hub.planning.project_digest import project_digest_job
from hub.planning.tick import TickResult
from hub.privacy.retention import RetentionJob
from hub.services import Services
from hub.store.db import acquire_untouched
from hub.store.queries import Q
from hub.supervision.calendar_status import weekly_calendar_warning
from hub.supervision.report import monthly_report_job

log = structlog.get_logger(__name__)

TICK_SECONDS = 5.0
DIGEST_CHECK_SECONDS = 30.0


class Ticker:
    """Fires due timers now, and arms one in-process wake-up for the next due timer."""

    def __init__(
        self, *, pool: asyncpg.Pool, clock: Clock, planner: Planner, metrics: Metrics
    ) -> None:
        self.pool, self.clock, self.planner, self.metrics = pool, clock, planner, metrics
        self._wakeup: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()

    async def tick(self) -> None:
        async with self._lock:
            result = await self.planner.fire_due(self.pool, self.clock.now())
            if result.fired:
                log.info("timers_fired", count=result.fired)
            _count_fired(self.metrics, result)
            upcoming = await self.planner.next_fire_at(self.pool)
        self._arm(upcoming)

    def _arm(self, upcoming: datetime | None) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        if upcoming is None:
            return
        delay = real_seconds_until(self.clock, upcoming)
        if delay < TICK_SECONDS:
            loop = asyncio.get_running_loop()
            self._wakeup = loop.call_later(delay, lambda: loop.create_task(self.tick()))

    def stop(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()


def _count_fired(metrics: Metrics, result: TickResult) -> None:
    metrics.inc("cuiban_timers_fired_total", result.fired)
    metrics.inc("cuiban_timers_set_aside_total", len(result.set_aside))


class PeriodicJobs:
    """The other periodic jobs, each logging what it queued."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._retention = RetentionJob()

    async def digest(self) -> None:
        s = self.services
        count = await s.planner.daily_digest(s.pool, s.clock.now())
        if count:
            log.info("daily_digest_queued", count=count)

    async def prune(self) -> None:
        s = self.services
        pruned = await s.planner.prune(s.pool, s.clock.now())
        if pruned:
            log.info("timers_pruned", count=pruned)

    async def calendar_warning(self) -> None:
        sent = await weekly_calendar_warning(self.services, self.services.clock.now())
        if sent:
            log.info("calendar_warning_queued", count=sent)

    async def monthly_report(self) -> None:
        sent = await monthly_report_job(self.services, self.services.clock.now())
        if sent:
            log.info("monthly_report_queued", count=sent)

    async def project_digests(self) -> None:
        sent = await project_digest_job(self.services, self.services.clock.now())
        if sent:
            log.info("project_digests_queued", count=sent)

    async def retention(self) -> None:
        await self._retention.run(self.services, self.services.clock.now())


class ManualSchedule:
    """The periodic work on the manual clock, at the instants the system clock would do it.

    The clock stops for each timer at its ``fire_at``; at 08:30 of each working day
    for the digest; at the start of each month's first working day for the monthly
    report; on the hour for project digests (while any case belongs to a project), as
    the hourly job sends them. The system clock looks for digests owed every 30 s
    until noon, so a reviewer whose first node arrives at 10:00 gets one at once: here
    the clock stops for that when events came in during the digest window.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self._hour: datetime | None = None  # the clock hour the hourly jobs last ran in
        self._digest_seen: int | None = None  # the last event the digest looked at
        # What next_due last saw (the first pending timer, the latest event), for the run
        # at the stop it named; None when not known (claim and look anyway).
        self._agenda: asyncpg.Record | None = None
        self._digest_day: date | None = None  # ... on this local day
        self._report_day: date | None = None  # the monthly report was looked at today
        self._retention = RetentionJob()  # once a local day, at the first stop of the day
        self._shared: _SharedDue | None = None  # the other workers' next instants, once each

    @property
    def _tz(self) -> tzinfo:
        return self.services.routing.tz

    async def run(self, now: datetime) -> TickResult:
        """Fire every timer due by ``now``, then the periodic notices that are due."""
        s = self.services
        agenda, self._agenda = self._agenda, None
        result = TickResult()
        # Every timer due by the last stop fired there, so the one next_due found is the
        # first pending: when it lies ahead, no claim (a transaction) at this stop.
        if agenda is None or (agenda["timer"] is not None and agenda["timer"] <= now):
            result = await s.planner.fire_due(s.pool, now)
        _count_fired(s.metrics, result)
        today = now.astimezone(self._tz).date()
        if self._in_digest_window(now):
            if agenda is not None:
                latest = agenda["latest_event"]
            else:
                async with acquire_untouched(s.pool) as conn:
                    latest = await conn.fetchval(Q["latest_event_seq"])
            # What a digest says changes with events (new nodes, completions) and with the
            # timers that move a node's level; otherwise it would only be computed again.
            if (latest, today) != (self._digest_seen, self._digest_day) or result.fired:
                self._digest_seen, self._digest_day = latest, today
                await s.planner.daily_digest(s.pool, now)
        if self._report_day != today:
            # Once a local day is enough: the clock stops at each month's first working
            # day, and the report is once a month (its dedupe key) however often asked.
            await monthly_report_job(s, now)
            self._report_day = today
        hour = now.replace(minute=0, second=0, microsecond=0)
        if self._hour is None or hour > self._hour:
            # Hourly, as the background scheduler runs them (periodic_jobs): the calendar
            # warning goes once a week (its dedupe key), project digests once an hour.
            self._hour = hour
            await weekly_calendar_warning(s, now)
            await project_digest_job(s, now)
        await self._retention.run(s, now)
        return result

    async def next_due(self, after: datetime | None) -> datetime | None:
        """The next timer, digest, first working day of a month or project hour."""
        now = self.services.clock.now()
        self._shared = None  # nothing stale is handed out should the read fail
        async with acquire_untouched(self.services.pool) as conn:  # a read: no reset needed
            agenda = await conn.fetchrow(Q["manual_schedule_agenda"], after)
        self._agenda = agenda
        self._shared = _SharedDue(
            after=after, dues={k: agenda[k] for k in SHARED_DUE}, lease=agenda["lease"]
        )
        timer: datetime | None = agenda["timer"]
        window = after is None and self._in_digest_window(now)
        if window and agenda["latest_event"] != self._digest_seen:
            return now  # new work came in since the digest last looked
        projects = bool(agenda["projects"])
        since = after or now
        instants = [
            timer,
            self._next_local(since, DIGEST_AT, inclusive=after is None, first_of_month=False),
            self._next_local(since, time(0), inclusive=after is None, first_of_month=True),
        ]
        if projects:
            instants.append(since.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        return min((i for i in instants if i is not None), default=None)

    def shared_due(self, worker: str, after: datetime | None) -> tuple[bool, datetime | None]:
        """The next instant of ``worker`` (one of :data:`SHARED_DUE`) from the agenda the
        last :meth:`next_due` read, if it read it for the same ``after`` and no one took it
        yet: (False, None) when the worker must ask itself. The test clock asks the
        scheduler first and the others right after, with nothing run in between."""
        shared = self._shared
        if shared is None or shared.after != after or worker not in shared.dues:
            return False, None
        return True, shared.dues.pop(worker)

    def leases_expired(self, now: datetime) -> bool:
        """False when the agenda last read (for this stop) found no lease expiring by ``now``:
        the dispatcher then has nothing to reap. True when not known."""
        if self._shared is None:
            return True
        lease = self._shared.lease
        return lease is not None and lease <= now

    def _in_digest_window(self, now: datetime) -> bool:
        return digest_due(self.services.routing, now)

    def _next_local(
        self, since: datetime, at: time, *, inclusive: bool, first_of_month: bool
    ) -> datetime | None:
        """The first ``at`` (local) on a working day — the first of its month, if asked —
        after ``since``; None past the years the calendar knows."""
        calendar = self.services.calendar
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


#: The workers whose next instant the scheduler's agenda reads too (a column each).
SHARED_DUE = ("dispatcher", "webhooks")


@dataclass(kw_only=True)
class _SharedDue:
    after: datetime | None
    dues: dict[str, datetime | None]
    lease: datetime | None  # the first lease to expire, whenever that is


def _first_working_day_of_month(calendar: WorkingCalendar, day: date) -> bool:
    first = day.replace(day=1)
    return not any(
        calendar.is_working_day(first + timedelta(days=n)) for n in range((day - first).days)
    )


@dataclass(frozen=True)
class Periodic:
    """One interval job of the background scheduler."""

    id: str
    run: Callable[[], Awaitable[None]]
    every_seconds: float


def periodic_jobs(ticker: Ticker, jobs: PeriodicJobs, *, accelerated: bool) -> list[Periodic]:
    """What runs how often; an accelerated clock crosses 08:30 or an hour in moments, so
    the digest, the monthly report and the project digests look every second."""
    digest_every = 1.0 if accelerated else DIGEST_CHECK_SECONDS
    project_every = 1.0 if accelerated else 3600.0
    return [
        Periodic("tick", ticker.tick, TICK_SECONDS),
        Periodic("daily_digest", jobs.digest, digest_every),
        Periodic("monthly_report", jobs.monthly_report, digest_every),
        Periodic("calendar_warning", jobs.calendar_warning, 3600.0),
        Periodic("project_digest", jobs.project_digests, project_every),
        # Once a local day does the work; the other runs return at once.
        Periodic("retention", jobs.retention, project_every),
        Periodic("prune", jobs.prune, 3600.0),
    ]


def start_periodic(jobs: list[Periodic]) -> AsyncIOScheduler:
    """An APScheduler running ``jobs``, each first at once, never two runs of one at a time."""
    scheduler = AsyncIOScheduler()
    # APScheduler runs in real time, whatever the hub's clock: its first runs are now.
    first = datetime.now().astimezone() + timedelta(milliseconds=50)
    for job in jobs:
        scheduler.add_job(
            job.run,
            "interval",
            seconds=job.every_seconds,
            next_run_time=first,
            max_instances=1,
            coalesce=True,
            id=job.id,
        )
    scheduler.start()
    return scheduler


class Scheduler:
    """The periodic work as one worker: APScheduler in the background, or the manual
    clock's stops (:class:`ManualSchedule`) — hub/lifecycle.run_or_hook picks."""

    name = "scheduler"

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ticker = Ticker(
            pool=services.pool,
            clock=services.clock,
            planner=services.planner,
            metrics=services.metrics,
        )
        self._manual = ManualSchedule(services)
        self._running: AsyncIOScheduler | None = None

    async def drain(self, now: datetime) -> TickResult:
        """Fire every timer due by ``now``, then the periodic notices that are due."""
        return await self._manual.run(now)

    async def next_due(self, after: datetime | None) -> datetime | None:
        return await self._manual.next_due(after)

    def shared_due(self, worker: str, after: datetime | None) -> tuple[bool, datetime | None]:
        """Another worker's next instant, read with the scheduler's (ManualSchedule)."""
        return self._manual.shared_due(worker, after)

    def leases_expired(self, now: datetime) -> bool:
        """Whether a send's lease can have expired by ``now`` (ManualSchedule)."""
        return self._manual.leases_expired(now)

    async def start(self) -> None:
        accelerated = isinstance(self.services.clock, AcceleratedClock)
        jobs = periodic_jobs(self.ticker, PeriodicJobs(self.services), accelerated=accelerated)
        self._running = start_periodic(jobs)

    async def stop(self) -> None:
        if self._running is not None:
            self._running.pause()
            await _finish_running_jobs(self._running)
            self._running.shutdown(wait=False)
            self._running = None
        self.ticker.stop()


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
