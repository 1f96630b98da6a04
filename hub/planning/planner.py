"""From deadlines to notices: timers planned in the ingest transaction, fired by the tick.

Each state change re-plans the timers of the cases it touched in the same
transaction: an open node has a ``node_due_soon`` and a ``node_overdue``
timer for its current deadline version; a completed node, a suspended case or
a moved deadline cancels what no longer applies. The tick claims due timers
with ``FOR UPDATE SKIP LOCKED``, checks they still apply, writes the notices
into the outbox and chains the next escalation step — all in one transaction,
so any number of processes may tick at once and nothing fires twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
import structlog

from core.errors import CalendarYearUnknown
from core.events import (
    CaseAccepted,
    CaseReadyForPickup,
    CaseResumed,
    CaseSuspended,
    Event,
)
from core.notices import NoticeKind
from core.reminders import Rung, escalation_at, escalation_rung, overdue_at
from hub.notices.merge import collapse
from hub.notices.outbox import Notice, enqueue
from hub.notices.recipients import EVALUATION_DELAY, People, Routing, unique
from hub.store.queries import Q

log = structlog.get_logger(__name__)

DIGEST_AT = time(8, 30)
DIGEST_UNTIL = time(12, 0)
TICK_BATCH = 500
PRUNE_AFTER = timedelta(days=90)

SUSPENSION_REASONS = {
    "hearing": "听证",
    "expert_review": "专家评审",
    "testing": "检验检测",
    "supplement": "补正材料",
    "inspection": "现场核查",
    "quarantine": "检疫",
}


@dataclass(frozen=True, kw_only=True)
class PlannedTimer:
    kind: str
    case_no: str
    node_id: str
    step: int
    deadline_version: int
    fire_at: datetime


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


class Planner:
    def __init__(self, routing: Routing) -> None:
        self.routing = routing

    @property
    def _policy(self) -> Any:
        return self.routing.settings.policy

    # --- planning (inside the ingest transaction) ---------------------------------

    def _overdue_at(self, due_at: datetime, unit: str | None) -> datetime:
        return overdue_at(
            due_at,
            self.routing.calendar,
            day_unit=unit != "hours",
            office_start=self._policy.office_start,
            tz=self.routing.tz,
        )

    def desired_timers(
        self, case: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]]
    ) -> list[PlannedTimer]:
        """The timers a case should have now: none while it is suspended or once it is done."""
        wanted: list[PlannedTimer] = []
        case_no = case["case_no"]
        if case["closed_at"] and not case["withdrawn_at"] and case["rating"] is None:
            wanted.append(
                PlannedTimer(
                    kind=NoticeKind.EVALUATION_PROMPT,
                    case_no=case_no,
                    node_id="",
                    step=0,
                    deadline_version=0,
                    fire_at=case["closed_at"] + EVALUATION_DELAY,
                )
            )
        if case["suspended_since"] is not None or case["closed_at"] is not None:
            return wanted
        try:
            if case["completed_at"] is None and case["due_at"] is not None:
                wanted += self._pair(
                    (NoticeKind.CASE_DUE_SOON, NoticeKind.CASE_OVERDUE),
                    case_no,
                    "",
                    case["deadline_version"],
                    case["warn_at"],
                    case["due_at"],
                    case["limit_unit"],
                )
            for node in nodes:
                if node["completed_at"] is None and node["due_at"] is not None:
                    wanted += self._pair(
                        (NoticeKind.NODE_DUE_SOON, NoticeKind.NODE_OVERDUE),
                        case_no,
                        node["node_id"],
                        node["deadline_version"],
                        node["warn_at"],
                        node["due_at"],
                        node["limit_unit"] or case["limit_unit"],
                    )
        except CalendarYearUnknown:
            # The due date is known but the day after it is not: plan what we can.
            log.warning("timers_beyond_calendar", case_no=case_no)
        return wanted

    def _pair(
        self,
        kinds: tuple[NoticeKind, NoticeKind],
        case_no: str,
        node_id: str,
        version: int,
        warn_at: datetime,
        due_at: datetime,
        unit: str | None,
    ) -> list[PlannedTimer]:
        soon, late = kinds
        return [
            PlannedTimer(
                kind=soon,
                case_no=case_no,
                node_id=node_id,
                step=0,
                deadline_version=version,
                fire_at=warn_at,
            ),
            PlannedTimer(
                kind=late,
                case_no=case_no,
                node_id=node_id,
                step=0,
                deadline_version=version,
                fire_at=self._overdue_at(due_at, unit),
            ),
        ]

    async def replan(self, conn: asyncpg.Connection, case_nos: Sequence[str]) -> None:
        """Make the timers of ``case_nos`` match their current state."""
        cases = await conn.fetch(Q["cases_for_planning"], list(case_nos))
        nodes: dict[str, list[asyncpg.Record]] = {}
        for row in await conn.fetch(Q["nodes_for_planning"], list(case_nos)):
            nodes.setdefault(row["case_no"], []).append(row)
        wanted = [t for c in cases for t in self.desired_timers(c, nodes.get(c["case_no"], []))]
        wanted = await self._resume_escalations(conn, case_nos, wanted, nodes)
        keep = {(t.case_no, t.node_id, t.kind, t.deadline_version) for t in wanted}
        pending = await conn.fetch(Q["pending_timers_of_cases"], list(case_nos))
        stale = [
            r["id"]
            for r in pending
            if (r["case_no"], r["node_id"], r["kind"], r["deadline_version"]) not in keep
        ]
        if stale:
            await conn.execute(Q["cancel_timers"], stale)
        await _upsert_timers(conn, wanted)

    async def _resume_escalations(
        self,
        conn: asyncpg.Connection,
        case_nos: Sequence[str],
        wanted: list[PlannedTimer],
        nodes: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> list[PlannedTimer]:
        """An escalation chain already under way goes on from its next step, not step 0.

        A suspension that moved nothing (resumed the same day) keeps the deadline
        version, so the overdue chain it cancelled must pick up where it stopped.
        """
        fired = {
            (r["case_no"], r["node_id"], r["deadline_version"]): r["step"]
            for r in await conn.fetch(Q["fired_escalation_steps"], list(case_nos))
        }
        if not fired:
            return wanted
        due_dates = {
            (n["case_no"], n["node_id"]): n["due_date"] for ns in nodes.values() for n in ns
        }
        resumed: list[PlannedTimer] = []
        for timer in wanted:
            last = fired.get((timer.case_no, timer.node_id, timer.deadline_version))
            due_date = due_dates.get((timer.case_no, timer.node_id))
            if timer.kind != NoticeKind.NODE_OVERDUE or last is None or due_date is None:
                resumed.append(timer)
                continue
            if last + 1 >= self._policy.max_escalations:
                continue  # the chain ran its course
            follow = self._next_step(
                {
                    "kind": timer.kind,
                    "case_no": timer.case_no,
                    "node_id": timer.node_id,
                    "step": last,
                    "deadline_version": timer.deadline_version,
                },
                due_date,
            )
            if follow is not None:
                resumed.append(follow)
        return resumed

    async def after_ingest(
        self,
        conn: asyncpg.Connection,
        case_nos: Sequence[str],
        events: Sequence[Event],
        *,
        now: datetime,
    ) -> None:
        """Re-plan the touched cases' timers and queue what the new events announce."""
        await self.replan(conn, case_nos)
        await self.on_events(conn, events, now=now)

    async def on_events(
        self, conn: asyncpg.Connection, events: Sequence[Event], *, now: datetime
    ) -> None:
        """Notices an event causes at once: the 受理 receipt, 事中 notices, the pickup notice."""
        interesting = [
            e
            for e in events
            if isinstance(e, CaseAccepted | CaseSuspended | CaseResumed | CaseReadyForPickup)
        ]
        if not interesting:
            return
        case_nos = unique([e.case_no for e in interesting])
        cases = {r["case_no"]: r for r in await conn.fetch(Q["cases_for_planning"], case_nos)}
        heads = {
            r["code"]: r
            for r in await conn.fetch(
                Q["departments_by_code"], unique([c["department_code"] for c in cases.values()])
            )
        }
        people = await People.load(
            conn,
            [h["head"] for h in heads.values() if h["head"]]
            + [p for h in heads.values() for p in h["supervisors"]],
            self.routing,
        )
        notices: list[Notice] = []
        for event in interesting:
            case = cases[event.case_no]
            notices += self._event_notices(
                event, case, heads.get(case["department_code"]), people, now
            )
        await enqueue(conn, notices, now=now, max_attempts=self._policy.max_attempts)

    def case_context(self, case: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        return {
            "case_no": case["case_no"],
            "matter": case["matter_name"] or "",
            "department": case["department_name"] or case["department_code"] or "",
            "due_date": _day(case["due_date"]),
            "link": self.routing.case_link(case["case_no"], now),
        }

    def _applicant_notice(
        self,
        kind: NoticeKind,
        key: str,
        case: Mapping[str, Any],
        context: dict[str, Any],
        now: datetime,
    ) -> list[Notice]:
        applicant = case["applicant"]
        if not applicant:
            return []
        return [
            Notice(
                kind=kind,
                dedupe_key=key,
                addresses=self.routing.applicant_addresses(applicant),
                context=context,
                not_before=self.routing.applicant_time(now),
                case_no=case["case_no"],
            )
        ]

    def _event_notices(
        self,
        event: Event,
        case: Mapping[str, Any],
        department: Mapping[str, Any] | None,
        people: People,
        now: datetime,
    ) -> list[Notice]:
        context = self.case_context(case, now)
        case_no = case["case_no"]
        match event:
            case CaseAccepted():
                notices = self._applicant_notice(
                    NoticeKind.CASE_ACCEPTED,
                    f"case_accepted:{case_no}",
                    case,
                    context | {"query_code": case["query_code"] or ""},
                    now,
                )
                if case["deadline_unknown"] and department:
                    notices += self._deadline_unknown(case, department, people, context, now)
                if event.green_channel and department and department["head"]:
                    head = people.recipient(department["head"], now)
                    limit = f"{case['limit_value'] or ''}{_UNIT_WORDS.get(case['limit_unit'], '')}"
                    notices.append(
                        self.routing.reviewer_notice(
                            head,
                            NoticeKind.GREEN_CHANNEL,
                            f"green_channel:{case_no}",
                            context | {"limit": limit},
                            now=now,
                            case_no=case_no,
                        )
                    )
                return notices
            case CaseSuspended():
                reason = SUSPENSION_REASONS.get(event.reason, event.reason)
                return self._applicant_notice(
                    NoticeKind.CASE_SUSPENDED,
                    f"case_suspended:{case_no}:{event.event_id}",
                    case,
                    context | {"reason": reason},
                    now,
                )
            case CaseResumed():
                return self._applicant_notice(
                    NoticeKind.CASE_RESUMED,
                    f"case_resumed:{case_no}:{event.event_id}",
                    case,
                    context,
                    now,
                )
            case CaseReadyForPickup():
                return self._applicant_notice(
                    NoticeKind.PICKUP_NOTICE,
                    f"pickup_notice:{case_no}:{event.event_id}",
                    case,
                    context
                    | {
                        "location": event.location,
                        "hours": event.hours or "",
                        "documents": "、".join(event.documents),
                    },
                    now,
                )
        return []

    def _deadline_unknown(
        self,
        case: Mapping[str, Any],
        department: Mapping[str, Any],
        people: People,
        context: dict[str, Any],
        now: datetime,
    ) -> list[Notice]:
        """Nothing is dropped: supervisors learn that a year's calendar is missing."""
        year = max(self.routing.calendar.years) + 1
        return [
            self.routing.reviewer_notice(
                people.recipient(person_id, now),
                NoticeKind.DEADLINE_UNKNOWN,
                f"deadline_unknown:{case['case_no']}",
                context | {"year": str(year)},
                now=now,
                case_no=case["case_no"],
            )
            for person_id in department["supervisors"]
        ]

    # --- the tick ---------------------------------------------------------------------

    async def fire_due(self, pool: asyncpg.Pool, now: datetime) -> int:
        """Fire every timer due by ``now``; return how many fired."""
        fired = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                timers = await conn.fetch(Q["claim_due_timers"], now, TICK_BATCH)
                if not timers:
                    return fired
                await self._fire(conn, timers, now)
                fired += len(timers)

    async def prune(self, pool: asyncpg.Pool, now: datetime) -> int:
        """Forget timers that fired or were cancelled more than PRUNE_AFTER ago."""
        async with pool.acquire() as conn:
            status: str = await conn.execute(Q["prune_timers"], now - PRUNE_AFTER)
        return int(status.split()[-1])

    async def next_fire_at(self, pool: asyncpg.Pool) -> datetime | None:
        async with pool.acquire() as conn:
            value: datetime | None = await conn.fetchval(Q["next_timer"])
            return value

    async def _fire(
        self, conn: asyncpg.Connection, timers: Sequence[asyncpg.Record], now: datetime
    ) -> None:
        case_nos = unique([t["case_no"] for t in timers])
        cases = {r["case_no"]: r for r in await conn.fetch(Q["cases_for_planning"], case_nos)}
        nodes = {
            (r["case_no"], r["node_id"]): r
            for r in await conn.fetch(Q["nodes_for_planning"], case_nos)
        }
        departments = {
            r["code"]: r
            for r in await conn.fetch(
                Q["departments_by_code"],
                unique(
                    [c["department_code"] for c in cases.values()]
                    + [n["department_code"] for n in nodes.values()]
                ),
            )
        }
        person_ids = [n["assignee_id"] for n in nodes.values()]
        for dept in departments.values():
            person_ids += [dept["head"], dept["deputy"], *dept["supervisors"]]
        people = await People.load(conn, [p for p in person_ids if p], self.routing)

        notices: list[Notice] = []
        chained: list[PlannedTimer] = []
        for timer in timers:
            case = cases.get(timer["case_no"])
            if case is None:
                continue
            node = nodes.get((timer["case_no"], timer["node_id"])) if timer["node_id"] else None
            made, follow = self._timer_notices(timer, case, node, departments, people, now)
            notices += made
            if follow is not None:
                chained.append(follow)
        await conn.execute(Q["mark_timers_fired"], [t["id"] for t in timers], now)
        await _upsert_timers(conn, chained)
        await enqueue(conn, collapse(notices), now=now, max_attempts=self._policy.max_attempts)

    def _still_applies(
        self, timer: Mapping[str, Any], case: Mapping[str, Any], node: Mapping[str, Any] | None
    ) -> bool:
        if timer["kind"] == NoticeKind.EVALUATION_PROMPT:
            return case["rating"] is None and case["withdrawn_at"] is None
        if case["suspended_since"] is not None or case["closed_at"] is not None:
            return False
        if timer["node_id"]:
            return (
                node is not None
                and node["completed_at"] is None
                and node["deadline_version"] == timer["deadline_version"]
            )
        return (
            case["completed_at"] is None and case["deadline_version"] == timer["deadline_version"]
        )

    def _timer_notices(
        self,
        timer: Mapping[str, Any],
        case: Mapping[str, Any],
        node: Mapping[str, Any] | None,
        departments: Mapping[str, Mapping[str, Any]],
        people: People,
        now: datetime,
    ) -> tuple[list[Notice], PlannedTimer | None]:
        if not self._still_applies(timer, case, node):
            return [], None
        kind = NoticeKind(timer["kind"])
        context = self.case_context(case, now)
        # Per case, node, deadline version and escalation step: a moved deadline reminds anew.
        version, step = timer["deadline_version"], timer["step"]
        base_key = f"{kind}:{case['case_no']}:{timer['node_id']}:v{version}:s{step}"
        if kind is NoticeKind.EVALUATION_PROMPT:
            return self._applicant_notice(kind, base_key, case, context, now), None

        source = node if node is not None else case
        dept = departments.get(source["department_code"]) if source["department_code"] else None
        due_date: date = source["due_date"]
        context["due_date"] = _day(due_date)
        follow = None
        if kind in (NoticeKind.NODE_OVERDUE, NoticeKind.CASE_OVERDUE):
            today = now.astimezone(self.routing.tz).date()
            overdue_days = self.routing.calendar.count_working_days(
                due_date + timedelta(days=1), max(today, due_date) + timedelta(days=1)
            )
            context["overdue_days"] = str(max(1, overdue_days))
        if node is not None:
            context |= {
                "node_name": node["name"],
                "assignee_name": people.name(node["assignee_id"]),
            }

        if kind is NoticeKind.NODE_OVERDUE:
            step = timer["step"]
            rung = escalation_rung(step)
            targets = self._rung_targets(rung, node, dept)
            if step + 1 < self._policy.max_escalations:
                follow = self._next_step(timer, due_date)
        elif kind is NoticeKind.NODE_DUE_SOON:
            targets = [node["assignee_id"]] if node is not None else []
        else:  # case_due_soon, case_overdue: the department's supervisors
            targets = list(dept["supervisors"]) if dept else []
        notices = [
            self.routing.reviewer_notice(
                people.recipient(person_id, now),
                kind,
                base_key,
                context,
                now=now,
                case_no=case["case_no"],
                node_id=timer["node_id"] or None,
            )
            for person_id in unique(targets)
        ]
        return notices, follow

    @staticmethod
    def _rung_targets(
        rung: Rung, node: Mapping[str, Any] | None, dept: Mapping[str, Any] | None
    ) -> list[str]:
        if rung is Rung.ASSIGNEE:
            return [node["assignee_id"]] if node is not None else []
        if rung is Rung.HEAD:
            return [dept["head"]] if dept and dept["head"] else []
        return list(dept["supervisors"]) if dept else []

    def _next_step(self, timer: Mapping[str, Any], due_date: date) -> PlannedTimer | None:
        step = timer["step"] + 1
        try:
            fire_at = escalation_at(
                due_date,
                step,
                self.routing.calendar,
                office_start=self._policy.office_start,
                tz=self.routing.tz,
            )
        except CalendarYearUnknown:
            log.warning("escalation_beyond_calendar", case_no=timer["case_no"], step=step)
            return None
        return PlannedTimer(
            kind=timer["kind"],
            case_no=timer["case_no"],
            node_id=timer["node_id"],
            step=step,
            deadline_version=timer["deadline_version"],
            fire_at=fire_at,
        )

    # --- the daily digest -------------------------------------------------------------

    async def daily_digest(self, pool: asyncpg.Pool, now: datetime) -> int:
        """At 08:30 on working days: each reviewer with open nodes gets one summary."""
        local = now.astimezone(self.routing.tz)
        try:
            # A hub started late catches up that morning; an afternoon digest would be noise.
            if not DIGEST_AT <= local.time() < DIGEST_UNTIL:
                return 0
            if not self.routing.calendar.is_working_day(local.date()):
                return 0
        except CalendarYearUnknown:
            return 0
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(Q["open_work_by_assignee"], now)
            people = await People.load(conn, [r["assignee_id"] for r in rows], self.routing)
            day = local.date().isoformat()
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
                    self.routing.reviewer_notice(
                        who,
                        NoticeKind.DAILY_DIGEST,
                        f"daily_digest:{row['assignee_id']}:{day}",
                        context,
                        now=now,
                    )
                )
            return await enqueue(conn, notices, now=now, max_attempts=self._policy.max_attempts)


async def _upsert_timers(conn: asyncpg.Connection, timers: Sequence[PlannedTimer]) -> None:
    if timers:
        await conn.execute(
            Q["upsert_timers"],
            [t.kind for t in timers],
            [t.case_no for t in timers],
            [t.node_id for t in timers],
            [t.step for t in timers],
            [t.deadline_version for t in timers],
            [t.fire_at for t in timers],
        )


_UNIT_WORDS = {"working_days": "个工作日", "calendar_days": "天", "hours": "小时"}
