"""The planning service: what ingest, the tick and the scheduler call.

Each part lives in its own module — :mod:`~hub.planning.timers` (the timers a
case should have, re-planned in the ingest transaction),
:mod:`~hub.planning.event_notices` (notices an event causes at once),
:mod:`~hub.planning.tick` (firing due timers) and :mod:`~hub.planning.digests`
(the 08:30 digest). :class:`Planner` binds them to one :class:`Routing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import asyncpg

from core.events import Event
from hub.notices.recipients import Routing
from hub.planning import digests, tick, timers
from hub.planning.event_notices import queue_event_notices

if TYPE_CHECKING:
    from hub.store.ingest import Projected


class Planner:
    def __init__(self, routing: Routing) -> None:
        self.routing = routing

    async def after_ingest(
        self,
        conn: asyncpg.Connection,
        case_nos: Sequence[str],
        events: Sequence[Event],
        *,
        now: datetime,
        projected: Projected,
    ) -> None:
        """Re-plan the touched cases' timers and queue what the new events announce.

        ``projected``: the cases and nodes as ingest just wrote them, handed over rather
        than read back in the same transaction.
        """
        await timers.replan_known(conn, self.routing, case_nos, projected.cases, projected.nodes)
        cases = {c["case_no"]: c for c in projected.cases}
        await queue_event_notices(conn, self.routing, events, now=now, cases=cases)

    async def fire_due(self, pool: asyncpg.Pool, now: datetime) -> tick.TickResult:
        """Fire every timer due by ``now``; set aside, each on its own, those that cannot."""
        return await tick.fire_due(pool, self.routing, now)

    async def daily_digest(self, pool: asyncpg.Pool, now: datetime) -> int:
        return await digests.daily_digest(pool, self.routing, now)

    async def prune(self, pool: asyncpg.Pool, now: datetime) -> int:
        return await timers.prune(pool, now)

    async def next_fire_at(self, pool: asyncpg.Pool) -> datetime | None:
        return await timers.next_fire_at(pool)
