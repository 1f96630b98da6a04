"""The 08:30 daily digest: each reviewer with open nodes gets one summary on working days."""

from __future__ import annotations

from datetime import datetime, time

import asyncpg

from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from hub.notices.notify import notify
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Routing
from hub.store.queries import Q

DIGEST_AT = time(8, 30)
DIGEST_UNTIL = time(12, 0)


def digest_due(routing: Routing, now: datetime) -> bool:
    """A working-day morning from 08:30: a hub started late catches up; later is noise."""
    local = now.astimezone(routing.tz)
    try:
        return DIGEST_AT <= local.time() < DIGEST_UNTIL and routing.calendar.is_working_day(
            local.date()
        )
    except CalendarYearUnknown:
        return False


async def daily_digest(pool: asyncpg.Pool, routing: Routing, now: datetime) -> int:
    """Queue today's digest to each reviewer with open nodes (once a day); return how many."""
    if not digest_due(routing, now):
        return 0
    day = now.astimezone(routing.tz).date().isoformat()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(Q["open_work_by_assignee"], now)

        def build(people: People) -> list[Notice]:
            notices = []
            for row in rows:
                who = people.recipient(row["assignee_id"], now)
                context = {
                    "name": who.name,
                    "open_count": str(row["open_count"]),
                    "due_soon_count": str(row["due_soon_count"]),
                    "overdue_count": str(row["overdue_count"]),
                }
                notices.append(
                    routing.reviewer_notice(
                        who,
                        NoticeKind.DAILY_DIGEST,
                        f"daily_digest:{row['assignee_id']}:{day}",
                        context,
                        now=now,
                    )
                )
            return notices

        return await notify(conn, routing, [r["assignee_id"] for r in rows], build, now=now)
