"""A rectification's reminders: rows of the same ``timers`` table, fired by the same tick.

Three timer kinds, each turned into one of the contract's notice kinds:

================================  ==========================  ==================================
timer kind                        notice                      when, to whom
================================  ==========================  ==================================
``rectification_due_soon``        rectification_due_soon      the answer's yellow (09:00, the
                                                              warning working day before), head
``rectification_verify_overdue``  rectification_overdue       not verified: office start of the
                                                              first working day after the verify
                                                              due date to the head, then daily
                                                              to the supervisors
``rectification_overdue``         rectification_overdue       not closed: the same ladder after
                                                              the answer's due date
================================  ==========================  ==================================

The ladder is the nodes' (``core.reminders``) with the assignee rung left out:
the head is the one who must act. At most ``policy.max_escalations`` steps. The
verify step has no due-soon reminder: it is due the next working day and the
``poor_rating`` notice itself says so.

A rectification's deadlines never move, so its id fills the timer key's
``deadline_version`` slot: two rectifications of one case never share a timer.
The tick (:mod:`hub.planning.tick`) hands the claimed timers of these kinds to
:func:`load` and :func:`build`, and merges their notices with the batch's others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
import structlog

from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from core.reminders import overdue_at
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Routing, unique
from hub.planning.timers import PlannedTimer, next_step, upsert_timers
from hub.rectifications.model import Rectification
from hub.rectifications.notices import base_context, day
from hub.store.queries import Q

__all__ = [
    "TIMER_KINDS",
    "Batch",
    "TimerKind",
    "build",
    "cancel",
    "is_rectification_timer",
    "load",
    "plan",
]

log = structlog.get_logger(__name__)


class TimerKind(StrEnum):
    DUE_SOON = "rectification_due_soon"
    VERIFY_OVERDUE = "rectification_verify_overdue"
    OVERDUE = "rectification_overdue"


TIMER_KINDS = frozenset(TimerKind)
NOTICE_OF = {
    TimerKind.DUE_SOON: NoticeKind.RECTIFICATION_DUE_SOON,
    TimerKind.VERIFY_OVERDUE: NoticeKind.RECTIFICATION_OVERDUE,
    TimerKind.OVERDUE: NoticeKind.RECTIFICATION_OVERDUE,
}
STAGE_WORDS = {
    TimerKind.DUE_SOON: "整改答复",
    TimerKind.VERIFY_OVERDUE: "回访核实",
    TimerKind.OVERDUE: "整改答复",
}


def is_rectification_timer(kind: str) -> bool:
    return kind in TIMER_KINDS


def _timer(kind: TimerKind, rect: Rectification, fire_at: datetime) -> PlannedTimer:
    return PlannedTimer(
        kind=kind,
        case_no=rect.case_no,
        node_id="",
        step=0,
        deadline_version=rect.id,
        fire_at=fire_at,
    )


def planned(rect: Rectification, routing: Routing) -> list[PlannedTimer]:
    """The timers a newly opened rectification starts with."""
    policy = routing.settings.policy
    wanted: list[PlannedTimer] = []
    try:
        if rect.rectify_warn_at is not None and rect.rectify_warn_at > rect.opened_at:
            wanted.append(_timer(TimerKind.DUE_SOON, rect, rect.rectify_warn_at))
        if policy.max_escalations > 0:
            for kind, due_at in (
                (TimerKind.VERIFY_OVERDUE, rect.verify_due_at),
                (TimerKind.OVERDUE, rect.rectify_due_at),
            ):
                if due_at is not None:
                    first = overdue_at(
                        due_at,
                        routing.calendar,
                        day_unit=True,
                        office_start=policy.office_start,
                        tz=routing.tz,
                    )
                    wanted.append(_timer(kind, rect, first))
    except CalendarYearUnknown:
        log.warning("rectification_timers_beyond_calendar", rectification_id=rect.id)
    return wanted


async def plan(conn: asyncpg.Connection, rect: Rectification, routing: Routing) -> None:
    await upsert_timers(conn, planned(rect, routing))


async def cancel(
    conn: asyncpg.Connection,
    rect_id: int,
    kinds: Sequence[TimerKind],
    *,
    reason: str,
    now: datetime,
) -> None:
    """Stop the reminders of ``kinds``: the timers not yet fired, and the messages they made
    that still wait to leave (a merged one, naming other cases too, goes as it is)."""
    await conn.execute(Q["cancel_rectification_timers"], rect_id, [str(k) for k in kinds])
    patterns = [f"{kind}:{rect_id}:s%" for kind in kinds]
    await conn.execute(Q["cancel_rectification_reminders"], patterns, reason, now)


# --- the tick -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Batch:
    """The rows a batch of rectification timers refers to, loaded once."""

    timers: Sequence[Mapping[str, Any]]
    rectifications: Mapping[int, Rectification] = field(default_factory=dict)
    departments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def person_ids(self) -> list[str | None]:
        ids: list[str | None] = [r.head for r in self.rectifications.values()]
        for dept in self.departments.values():
            ids += [dept["head"], dept["deputy"], *dept["supervisors"]]
        return ids


async def load(conn: asyncpg.Connection, timers: Sequence[Mapping[str, Any]]) -> Batch:
    if not timers:
        return Batch(timers=())
    ids = list(dict.fromkeys(int(t["deadline_version"]) for t in timers))
    rects = {
        r["id"]: Rectification.from_row(r)
        for r in await conn.fetch(Q["rectifications_by_ids"], ids)
    }
    codes = unique([r.department_code for r in rects.values()])
    departments = {d["code"]: d for d in await conn.fetch(Q["rectification_departments"], codes)}
    return Batch(timers=timers, rectifications=rects, departments=departments)


def build(
    routing: Routing, batch: Batch, people: People, now: datetime
) -> tuple[list[Notice], list[PlannedTimer]]:
    """The notices the batch's timers send, and the next steps of their ladders."""
    notices: list[Notice] = []
    chained: list[PlannedTimer] = []
    for timer in batch.timers:
        rect = batch.rectifications.get(timer["deadline_version"])
        kind = TimerKind(timer["kind"])
        if rect is None or not _still_applies(kind, rect):
            continue
        try:
            made, follow = _timer_notices(routing, timer, kind, rect, batch, people, now)
        except CalendarYearUnknown:
            # One rectification the calendar cannot place never holds up the others.
            log.warning("rectification_timer_beyond_calendar", rectification_id=rect.id)
            continue
        notices += made
        if follow is not None:
            chained.append(follow)
    return notices, chained


def _due_date(kind: TimerKind, rect: Rectification) -> date | None:
    return rect.verify_due_date if kind is TimerKind.VERIFY_OVERDUE else rect.rectify_due_date


def _still_applies(kind: TimerKind, rect: Rectification) -> bool:
    if kind is TimerKind.VERIFY_OVERDUE:
        return rect.status == "open"
    return rect.status != "closed"


def _timer_notices(
    routing: Routing,
    timer: Mapping[str, Any],
    kind: TimerKind,
    rect: Rectification,
    batch: Batch,
    people: People,
    now: datetime,
) -> tuple[list[Notice], PlannedTimer | None]:
    due_date = _due_date(kind, rect)
    dept = batch.departments.get(rect.department_code or "")
    supervisors: list[str] = list(dept["supervisors"]) if dept else []
    step: int = timer["step"]
    context = base_context(rect, routing, now) | {
        # What the dispatcher re-checks as it leaves (hub.rectifications.truth).
        "rectification_id": rect.id,
        "rectification_step": "verify" if kind is TimerKind.VERIFY_OVERDUE else "answer",
        "stage": STAGE_WORDS[kind],
        "due_date": day(
            due_date, provisional=rect.provisional and kind is not TimerKind.VERIFY_OVERDUE
        ),
    }
    follow = None
    if kind is TimerKind.DUE_SOON or step == 0:
        targets = unique([_head(dept, rect)]) or supervisors  # no head: nothing is dropped
    else:
        targets = supervisors
    if kind is not TimerKind.DUE_SOON and due_date is not None:
        context["overdue_days"] = str(_overdue_days(routing, due_date, now))
        if step + 1 < routing.settings.policy.max_escalations:
            follow = next_step(routing, timer, due_date)
    notices = [
        routing.reviewer_notice(
            people.recipient(person_id, now),
            NOTICE_OF[kind],
            f"{kind}:{rect.id}:s{step}",
            context,
            now=now,
            case_no=rect.case_no,
        )
        for person_id in unique(targets)
    ]
    return notices, follow


def _head(dept: Mapping[str, Any] | None, rect: Rectification) -> str | None:
    """Today's head (People.recipient routes to the head's deputy while away), else the
    department's deputy, else whoever was told when it opened."""
    if dept is not None and (dept["head"] or dept["deputy"]):
        head: str = dept["head"] or dept["deputy"]
        return head
    return rect.head


def _overdue_days(routing: Routing, due_date: date, now: datetime) -> int:
    """Working days past ``due_date`` by ``now``'s local day; at least one once overdue."""
    today = now.astimezone(routing.tz).date()
    days = routing.calendar.count_working_days(
        due_date + timedelta(days=1), max(today, due_date) + timedelta(days=1)
    )
    return max(1, days)
