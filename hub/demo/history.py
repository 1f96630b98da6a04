"""A finished month of demo history, so the monthly report has something to say.

``cuiban serve --demo`` and the ``cuiban demo`` tour both start with the month
before their clock's today already lived through: sixteen cases in the two demo
departments, accepted on that month's working days and closed within it — some
early, some on the due date, some late (their overdue reminders fired and went
out), one urged by the supervisor. The events are replayed in order, each
ingested at its own instant with the timers due by then fired, exactly as a live
hub would have done; the notices of that month are then marked delivered at
their send time, since they belong to the past and must not go out now.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from core.calendar import WorkingCalendar
from core.errors import CalendarYearUnknown
from hub.demo.directory import APPLICANTS, DEPARTMENTS, MATTERS, PEOPLE, REVIEWERS
from hub.demo.ingest import ingest_raw
from hub.planning.tick import fire_due_on
from hub.services import Services
from hub.store.queries import Q
from hub.supervision.urges import urge_case

__all__ = ["HISTORY_CASES", "history_events", "history_month", "seed_history"]

HISTORY_CASES = 16
LIMIT_DAYS = 5
#: Working days from acceptance to closing, case by case: 提前 (< 5), 按时 (= 5), 超期 (> 5).
CLOSE_AFTER = (2, 3, 5, 7, 4, 5, 2, 6, 3, 5, 2, 4, 7, 5, 3, 6)
OPENING = time(9, 30)
CLOSING = time(15, 0)


@dataclass(frozen=True)
class _Step:
    at: datetime
    event: dict[str, Any] | None  # None: the supervisor urges ``case_no``
    case_no: str


def history_month(today: date) -> date:
    """The first day of the month before ``today``."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _working_days(first: date, calendar: WorkingCalendar) -> list[date]:
    days = []
    day = first
    while day.month == first.month:
        if calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


# Long on purpose: the demo month's script, step by step.
def _steps(first: date, calendar: WorkingCalendar, tz: Any) -> Iterator[_Step]:
    days = _working_days(first, calendar)
    for index in range(HISTORY_CASES):
        dept = "SCJG" if index % 2 == 0 else "ZJJ"
        accepted_day = days[(index // 2) % max(1, len(days) - max(CLOSE_AFTER))]
        closed_day = calendar.add_working_days(accepted_day, CLOSE_AFTER[index])
        if closed_day.month != first.month:
            continue
        case_no = f"{first:%Y%m}-H{index + 1:03d}"
        code, matter = MATTERS[dept][index % 3]
        reviewer = REVIEWERS[dept][index % 2]
        accepted = datetime.combine(accepted_day, OPENING, tz)
        closed = datetime.combine(closed_day, CLOSING, tz)
        review_start = datetime.combine(calendar.add_working_days(accepted_day, 1), CLOSING, tz)

        def event(kind: str, at: datetime, n: int, case_no: str = case_no, **fields: Any) -> _Step:
            body = {"event_id": f"{case_no}-{n:02d}", "type": kind, "case_no": case_no}
            return _Step(at, body | {"occurred_at": at.isoformat()} | fields, case_no)

        yield event(
            "case.accepted",
            accepted,
            0,
            matter={"code": code, "name": matter},
            department={"code": dept, "name": DEPARTMENTS[dept][0]},
            applicant={
                "name": APPLICANTS[index % len(APPLICANTS)],
                "mobile": f"1390001{index:04d}",
            },
            limit={"value": LIMIT_DAYS, "unit": "working_days"},
        )
        assignee = {"id": reviewer, "name": PEOPLE[reviewer][0]}
        yield event(
            "node.started",
            accepted + timedelta(minutes=10),
            1,
            node_id="n1",
            name="受理审查",
            department=dept,
            assignee=assignee,
            limit={"value": 1, "unit": "working_days"},
        )
        yield event(
            "node.completed", review_start - timedelta(hours=1), 2, node_id="n1", outcome="pass"
        )
        yield event(
            "node.started",
            review_start,
            3,
            node_id="n2",
            name="审核",
            department=dept,
            assignee=assignee,
            limit={"value": LIMIT_DAYS - 2, "unit": "working_days"},
        )
        if CLOSE_AFTER[index] > LIMIT_DAYS and index % 4 == 3:
            # The supervisor urges a late case the morning after it ran out of time.
            overdue = calendar.add_working_days(accepted_day, LIMIT_DAYS + 1)
            yield _Step(datetime.combine(overdue, time(10, 0), tz), None, case_no)
        yield event("node.completed", closed - timedelta(hours=2), 4, node_id="n2", outcome="pass")
        yield event("case.decided", closed - timedelta(hours=1), 5, decision="approved")
        yield event("case.closed", closed, 6)


def history_events(first: date, calendar: WorkingCalendar, tz: Any) -> list[dict[str, Any]]:
    """The month's events (urges apart), in the order they happened."""
    return [s.event for s in sorted(_steps(first, calendar, tz), key=lambda s: s.at) if s.event]


async def seed_history(services: Services, now: datetime) -> int:
    """Live through the month before ``now``'s; return its cases (0: a year the calendar lacks)."""
    settings = services.settings
    tz = settings.calendar.tz
    calendar = services.calendar
    routing = services.routing
    first = history_month(now.astimezone(tz).date())
    try:
        steps = sorted(_steps(first, calendar, tz), key=lambda s: s.at)
    except CalendarYearUnknown:
        return 0
    month_end = datetime.combine(
        (first + timedelta(days=32)).replace(day=1), time(0, 0), tz
    ) - timedelta(seconds=1)
    case_nos = sorted({s.case_no for s in steps})
    # One transaction: a running dispatcher never sees the month's notices as queued.
    async with services.pool.acquire() as conn, conn.transaction():
        for step in steps:
            await fire_due_on(conn, routing, step.at)
            if step.event is None:
                await urge_case(
                    conn,
                    routing,
                    step.case_no,
                    by="p-jc",
                    note="已超期，请加快办理",
                    now=step.at,
                    max_attempts=settings.policy.max_attempts,
                    audit_as=("supervisor", "周监察 (demo)"),
                )
                continue
            await ingest_raw(conn, services, [step.event], now=step.at)
        await fire_due_on(conn, routing, month_end)
        await conn.execute(Q["demo_history_delivered"], case_nos, month_end)
    return len(case_nos)
