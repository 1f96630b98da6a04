"""Claimed sends worked per channel by a few long-lived workers, not a task per message.

::

    claim ──put("sms", row)──▶ [sms queue]   ◀── width("sms") workers ──▶ work(row)
          ──put("email", row)─▶ [email queue] ◀── width("email") workers

A channel's width is its ``[dispatch.concurrency]``: the number of its workers
bounds its sends in flight, so no semaphore is needed and a claimed batch of 500
costs no 500 tasks (issue 18: creating and finishing a task per send was a cost
the bare client does not pay). Each queue is first in, first out: rows keep the
order of their claim (priority, then due time).

:meth:`Lanes.stop` is how a SIGTERM ends sends: what is still queued was never
started and is handed back; a worker idle, or whose row has not reached the
provider yet, is cancelled at once; the others get ``grace`` seconds, then those
still at the provider are cancelled and those writing their outcome are awaited.

:func:`work_through` does the same for one batch (the manual clock's drain): at
most ``width`` coroutines per channel, each taking the next row of its channel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

import structlog

__all__ = ["Lanes", "cancel_and_wait", "work_through"]

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Lanes(Generic[T]):
    """One FIFO queue per lane, each worked by ``width(lane)`` workers made on first use."""

    def __init__(
        self,
        *,
        name: str,
        work: Callable[[T], Awaitable[None]],
        width: Callable[[str], int],
        done: Callable[[T], None],
    ) -> None:
        self.name = name
        self._work = work  # should not raise; if it does, the error is logged, the worker goes on
        self._width = width
        self._done = done  # called once per item put: worked, failed, cancelled or handed back
        self._queues: dict[str, asyncio.Queue[T]] = {}
        self._current: dict[asyncio.Task[None], T | None] = {}  # worker -> its item, or idle
        self._stopping = False

    def put(self, lane: str, item: T) -> None:
        """Queue ``item`` on ``lane``; its workers take items in the order they were put."""
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = asyncio.Queue()
            for n in range(self._width(lane)):
                task = asyncio.create_task(self._worker(queue), name=f"{self.name}:{lane}:{n}")
                self._current[task] = None
        queue.put_nowait(item)

    async def _worker(self, queue: asyncio.Queue[T]) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not self._stopping:
            item = await queue.get()
            self._current[me] = item
            try:
                await self._work(item)
            except Exception:  # one row's failure must not shrink the lane
                log.exception(f"{self.name}_work_failed")
            finally:
                self._current[me] = None
                self._done(item)

    async def stop(
        self, *, grace: float, started: Callable[[T], bool], at_provider: Callable[[T], bool]
    ) -> None:
        """Hand back what is queued; cancel what has not ``started``; give the rest ``grace``
        seconds, then cancel what is still ``at_provider`` and await what is finishing."""
        self._stopping = True
        for queue in self._queues.values():
            while not queue.empty():
                self._done(queue.get_nowait())
        idle = [t for t, item in self._current.items() if item is None or not started(item)]
        await cancel_and_wait(idle)
        busy = [t for t in self._current if not t.done()]
        if busy:
            _, late = await asyncio.wait(busy, timeout=grace)
            sending = [t for t in late if (item := self._current.get(t)) and at_provider(item)]
            await cancel_and_wait(sending)
            if late:
                await asyncio.wait(late)
        self._current.clear()
        self._queues.clear()
        self._stopping = False


async def work_through(
    items: Iterable[T],
    *,
    lane: Callable[[T], str],
    width: Callable[[str], int],
    work: Callable[[T], Awaitable[None]],
) -> None:
    """Work a batch with at most ``width(lane)`` items of a lane at a time."""
    by_lane: dict[str, list[T]] = {}
    for item in items:
        by_lane.setdefault(lane(item), []).append(item)

    async def worker(queue: Iterator[T]) -> None:
        for item in queue:  # shared with the lane's other workers: each takes the next
            await work(item)

    workers = []
    for name, group in by_lane.items():
        queue = iter(group)
        workers += [worker(queue) for _ in range(min(width(name), len(group)))]
    await asyncio.gather(*workers)


async def cancel_and_wait(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until each has ended."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
