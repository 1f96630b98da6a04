"""Group commit for the dispatcher's outcomes: many ``dispatch_finish`` in one statement.

Each send's outcome used to be its own transaction (BEGIN, the update with its
attempt row, COMMIT, and the pool's reset on release): four round trips and a
WAL flush per message. :class:`OutcomeBatcher` lets every finished send wait on
a future while one flush at a time writes everything that has arrived since the
previous one (``dispatch_finish_many``, a single autocommitted statement). Under
light load a batch is one row and costs what it did; under load the rows that
finished during one flush share the next. No timer: nothing waits to fill a batch.
:meth:`OutcomeBatcher.submit` hands an outcome over without waiting for it (the
dispatcher's lane moves on to its next send); :meth:`OutcomeBatcher.idle` waits until
everything handed over is written.

A dead outcome is not batched: its fallback row must be written in the same
transaction as the dead status (``Dispatcher._finish`` keeps that path).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from hub.store.db import acquire_untouched
from hub.store.queries import Q

__all__ = ["CONNECTION_LOST", "OutcomeBatcher"]

log = structlog.get_logger(__name__)

# What a database restart or a dropped connection looks like from asyncpg.
CONNECTION_LOST = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,
)
OUTAGE_RETRY_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class _Item:
    args: tuple[Any, ...]  # id, provider, status, provider_message_id, error, code,
    #                        not_before, started_at, outcome
    future: asyncio.Future[int | None]


class OutcomeBatcher:
    """Collects outcomes and writes them ``max_batch`` at a time, one flush at a time."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        owner: str,
        now: Callable[[], datetime],
        max_batch: int = 500,
        outage_grace: float = 30.0,
    ) -> None:
        self.pool = pool
        self.outage_grace = outage_grace  # about the lease: past it the row is handed out again
        self.owner = owner
        self.now = now
        self.max_batch = max_batch
        self._pending: list[_Item] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None  # held so it is not collected mid-flush

    async def finish(self, args: tuple[Any, ...]) -> int | None:
        """Record one outcome; return its attempt number, or None if the lease was lost."""
        return await self.submit(args)

    def submit(self, args: tuple[Any, ...]) -> asyncio.Future[int | None]:
        """Queue one outcome for the next flush; the future gets its attempt number (None:
        the lease was lost), or the error that kept it from being written."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int | None] = loop.create_future()
        self._pending.append(_Item(args, future))
        if not self._flushing:
            self._flushing = True
            self._task = loop.create_task(self._flush_all())
        return future

    async def idle(self) -> None:
        """Return once every outcome submitted so far has been written (or has failed)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                try:
                    attempts = await self._write(batch)
                except BaseException as exc:
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for item in batch:
                    if not item.future.done():
                        item.future.set_result(attempts.get(item.args[0]))
        finally:
            self._flushing = False
            if self._pending:  # cancelled mid-way: whoever finishes next flushes again
                for item in self._pending:
                    if not item.future.done():
                        item.future.set_exception(asyncio.CancelledError())
                self._pending.clear()

    async def _write(self, batch: list[_Item]) -> dict[int, int]:
        columns = list(zip(*(item.args for item in batch), strict=True))
        deadlocks = 0
        gave_up_at = time.monotonic() + self.outage_grace
        while True:
            try:
                async with acquire_untouched(self.pool) as conn:
                    rows = await conn.fetch(
                        Q["dispatch_finish_many"],
                        columns[0],
                        self.owner,
                        *columns[1:],
                        self.now(),
                    )
                return {row["message_id"]: row["attempt"] for row in rows}
            except asyncpg.DeadlockDetectedError:
                deadlocks += 1
                if deadlocks == 3:
                    raise
            except CONNECTION_LOST:
                # The provider has the message; only our record of it is missing. Keep
                # the outcome and write it when the database is back, while our lease
                # still holds — else the reaper would hand the row out again and the
                # citizen would get the SMS twice.
                if time.monotonic() > gave_up_at:
                    raise
                log.warning("outcome_write_waiting", rows=len(batch))
                await asyncio.sleep(OUTAGE_RETRY_SECONDS)
