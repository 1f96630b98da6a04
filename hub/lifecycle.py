"""Background workers that run by themselves, or when the manual test clock moves.

Under a manual clock nothing moves by itself. :func:`advance_test_clock` moves it
the way the system clock would: it stops at every instant some worker has work due
(a timer, a queued send, a retry, the 08:30 digest …), in order, and runs the
workers there, so each thing is done — and stamped — at its own instant, never at
the target of the advance.

:func:`run_workers` starts the scheduler, the dispatcher and the webhooks from the
:class:`~hub.services.Services` alone: no aiohttp here, so the app, the demo and
``cuiban simulate`` start them the same way.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from hub.clock import ManualClock
from hub.delivery.backoff import Jitter
from hub.delivery.dispatcher import Dispatcher, open_dispatcher
from hub.delivery.registry import ChannelRegistry
from hub.delivery.webhooks import WebhookWorker, open_webhooks
from hub.planning.scheduler import Scheduler
from hub.planning.tick import TickResult
from hub.services import Services
from hub.settings import DispatchSettings

log = structlog.get_logger(__name__)

# A failing worker is reported, not retried without end: past this many failures in one
# advance the rest are only counted (the log has each one).
MAX_REPORTED_FAILURES = 20


@dataclass(frozen=True, kw_only=True)
class ClockWorker:
    """Work that the manual test clock drives instead of a background loop.

    ``run(now)`` does everything due by ``now``. ``next_due(after)`` is the earliest
    instant strictly after ``after`` at which the worker will have work due, or, with
    ``after=None``, the earliest instant with work pending at all (it may lie in the
    past); None when nothing is pending. The advance steps through these instants.
    """

    name: str
    run: Callable[[datetime], Awaitable[object]]
    next_due: Callable[[datetime | None], Awaitable[datetime | None]]


class Background(Protocol):
    """A worker that runs by itself (``start``/``stop``) or is driven by the test clock."""

    @property
    def name(self) -> str: ...

    async def drain(self, now: datetime) -> object:
        """Do everything due by ``now`` (the manual clock stopped there)."""

    async def next_due(self, after: datetime | None) -> datetime | None:
        """Where the manual clock must stop next (see :class:`ClockWorker`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


NextDue = Callable[[datetime | None], Awaitable[datetime | None]]


@contextlib.asynccontextmanager
async def run_or_hook(
    worker: Background,
    hooks: list[ClockWorker] | None,
    *,
    next_due: NextDue | None = None,
    drain: Callable[[datetime], Awaitable[object]] | None = None,
) -> AsyncIterator[None]:
    """With ``hooks`` (a manual clock) the worker's ``drain`` runs at each instant the clock
    stops at, after the workers already hooked; otherwise it runs in the background.
    ``next_due`` and ``drain`` replace the worker's own (the scheduler's agenda answers
    for the others: :func:`_shared_due`)."""
    if hooks is None:
        await worker.start()
        try:
            yield
        finally:
            await worker.stop()
        return
    hooked = ClockWorker(
        name=worker.name, run=drain or worker.drain, next_due=next_due or worker.next_due
    )
    hooks.append(hooked)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            hooks.remove(hooked)


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    """What tests and ``cuiban simulate`` may set before start-up."""

    dispatch: DispatchSettings | None = None  # None: the [dispatch] settings
    channels: ChannelRegistry | None = None  # None: opened from [channels]
    jitter: Jitter = random.random  # the random source of retry backoff


@dataclass(frozen=True, kw_only=True)
class Workers:
    scheduler: Scheduler
    dispatcher: Dispatcher
    webhooks: WebhookWorker


@contextlib.asynccontextmanager
async def run_workers(
    services: Services, hooks: list[ClockWorker], options: WorkerOptions | None = None
) -> AsyncIterator[Workers]:
    """Start the scheduler, the dispatcher and the webhooks; stop them in reverse order.

    Under a manual clock they are appended to ``hooks`` in this order: timers become
    messages before the dispatcher drains them, and the statuses it changed go out as
    webhooks in the same advance.
    """
    options = options or WorkerOptions()
    manual = hooks if isinstance(services.clock, ManualClock) else None
    async with contextlib.AsyncExitStack() as stack:
        scheduler = Scheduler(services)
        await stack.enter_async_context(run_or_hook(scheduler, manual))
        dispatcher = await stack.enter_async_context(
            open_dispatcher(
                services,
                channels=options.channels,
                settings=options.dispatch,
                jitter=options.jitter,
            )
        )

        async def send_due(now: datetime) -> int:
            # A reap is a transaction of its own: only where a lease can have expired.
            return await dispatcher.drain(now, reap=scheduler.leases_expired(now))

        await stack.enter_async_context(
            run_or_hook(
                dispatcher, manual, next_due=_shared_due(scheduler, dispatcher), drain=send_due
            )
        )
        webhooks = await stack.enter_async_context(open_webhooks(services, jitter=options.jitter))
        # With no URL configured the targets were emptied as it opened and nothing is ever
        # queued: the manual clock need not drain it at every stop (one claim each).
        if manual is None or services.settings.webhooks.urls:
            await stack.enter_async_context(
                run_or_hook(webhooks, manual, next_due=_shared_due(scheduler, webhooks))
            )
        yield Workers(scheduler=scheduler, dispatcher=dispatcher, webhooks=webhooks)


def _shared_due(scheduler: Scheduler, worker: Background) -> NextDue:
    """``worker``'s next instant as the scheduler's agenda read it a moment before (one
    round trip for the three workers at each stop), else as the worker finds it."""

    async def next_due(after: datetime | None) -> datetime | None:
        found, due = scheduler.shared_due(worker.name, after)
        return due if found else await worker.next_due(after)

    return next_due


@dataclass(frozen=True, kw_only=True)
class WorkFailure:
    at: datetime
    worker: str
    error: str


@dataclass(kw_only=True)
class Advanced:
    """What one advance of the test clock did."""

    now: datetime
    stops: int = 0
    tick: TickResult = field(default_factory=TickResult)  # timers fired and set aside
    failures: list[WorkFailure] = field(default_factory=list)  # workers that raised
    failure_count: int = 0


async def advance_test_clock(
    workers: list[ClockWorker], clock: ManualClock, target: datetime
) -> Advanced:
    """Move ``clock`` to ``target``, stopping at every instant work falls due on the way.

    Work already due (a send queued a moment ago) runs first, at the current instant.
    The clock stops to the second (work due within a second is done at its end, as
    SMS receipts and a polling dispatcher resolve it anyway), so a burst of paced sends
    costs one stop a second, not one a send. At a stop, the workers with work due run,
    and every worker after one that ran (a timer's notice is sent at the same stop). A
    worker that raises is set aside for that stop and reported; the others run, and
    the clock still reaches ``target``.
    """
    async with clock.advancing():
        clock.check_target(target)
        result = Advanced(now=clock.now())
        ran_at: datetime | None = None
        while True:
            dues = await _dues(workers, after=ran_at, result=result, clock=clock)
            if not dues:
                break
            instant = max(_to_the_second(min(dues.values())), clock.now())
            if instant > target:
                break
            clock.advance_to(instant)
            await _stop(workers, dues, instant, result)
            if instant == target:
                break  # what is due next lies after ``after=instant``: past the target
            ran_at = instant
        clock.advance_to(target)
        result.now = clock.now()
        return result


def _to_the_second(instant: datetime) -> datetime:
    if instant.microsecond == 0:
        return instant
    return instant.replace(microsecond=0) + timedelta(seconds=1)


async def _dues(
    workers: list[ClockWorker], *, after: datetime | None, result: Advanced, clock: ManualClock
) -> dict[str, datetime]:
    """Each worker's next due instant (after ``after``), by worker name."""
    dues = {}
    for worker in list(workers):
        try:
            due = await worker.next_due(after)
        except Exception as exc:  # a worker that cannot say is skipped, not fatal
            _failed(result, worker.name, clock.now(), exc)
            continue
        if due is not None:
            dues[worker.name] = due
    return dues


async def _stop(
    workers: list[ClockWorker], dues: dict[str, datetime], instant: datetime, result: Advanced
) -> None:
    result.stops += 1
    downstream = False
    for worker in list(workers):
        due = dues.get(worker.name)
        if not downstream and (due is None or due > instant):
            continue
        downstream = True  # what this worker made may be due now for the ones after it
        try:
            outcome = await worker.run(instant)
        except Exception as exc:  # one worker's failure must not stop the others
            _failed(result, worker.name, instant, exc)
            continue
        if isinstance(outcome, TickResult):
            result.tick.add(outcome)


def _failed(result: Advanced, worker: str, instant: datetime, exc: Exception) -> None:
    log.exception("test_clock_work_failed", worker=worker, at=instant.isoformat())
    result.failure_count += 1
    if len(result.failures) < MAX_REPORTED_FAILURES:
        error = f"{type(exc).__name__}: {exc}"
        result.failures.append(WorkFailure(at=instant, worker=worker, error=error))
