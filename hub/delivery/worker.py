"""One loop for a leased queue in PostgreSQL: the dispatcher's and the webhooks' alike.

::

    start ──LISTEN <channel>──▶ loop: step() ── a full batch? ──yes──▶ step() again
                                  ▲                 │ no
                                  └── idle: a NOTIFY, the next due row, or poll_seconds

``step`` claims a batch under a lease (``FOR UPDATE SKIP LOCKED``) and works it;
it returns whether more may be waiting. A step that raises (the database went
away) is logged and retried after ``poll_seconds``: the loop never dies of it.
Under the manual test clock nothing runs in the background; :meth:`drain` runs
``drain_step`` until it finds nothing due.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg
import structlog

from hub.clock import Clock, real_seconds_until

log = structlog.get_logger(__name__)


class QueueLoop:
    """Runs ``step`` until stopped, waking on NOTIFY and sleeping until the next due row."""

    def __init__(
        self,
        *,
        name: str,
        pool: asyncpg.Pool,
        clock: Clock,
        notify_channel: str,
        step: Callable[[], Awaitable[bool]],
        next_due: Callable[[], Awaitable[datetime | None]],
        poll_seconds: float,
    ) -> None:
        self.name = name
        self.pool = pool
        self.clock = clock
        self.notify_channel = notify_channel
        self._step = step
        self._next_due = next_due
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._drain_lock = asyncio.Lock()

    def wake(self, *_: object) -> None:
        """New work (a NOTIFY, a freed slot): look again now."""
        self._wake.set()

    async def start(self) -> None:
        """Listen for new work and start the loop; polling covers a failed LISTEN."""
        try:
            self._listener = await self.pool.acquire()
            await self._listener.add_listener(self.notify_channel, self.wake)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning(f"{self.name}_listen_failed", error=str(exc))
        self._task = asyncio.create_task(self._loop(), name=f"{self.name}:loop")

    async def stop(self) -> None:
        """Stop the loop (a step in progress is cancelled) and give the listener back."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(self.notify_channel, self.wake)
            await self.pool.release(self._listener)
            self._listener = None

    async def drain(self, drain_step: Callable[[], Awaitable[int]]) -> int:
        """Run ``drain_step`` until it handles nothing; return how many it handled in all."""
        async with self._drain_lock:
            total = 0
            while handled := await drain_step():
                total += handled
            return total

    async def _loop(self) -> None:
        while True:
            try:
                self._wake.clear()
                if await self._step():
                    continue
                await self._idle()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: keep trying, slowly
                log.exception(f"{self.name}_loop_error")
                await asyncio.sleep(self.poll_seconds)

    async def _idle(self) -> None:
        """Wait for a NOTIFY, the next row's due time, or the polling interval."""
        timeout = self.poll_seconds
        next_due = await self._next_due()
        if next_due is not None:
            timeout = min(timeout, real_seconds_until(self.clock, next_due))
        if timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
