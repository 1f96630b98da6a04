"""The tick: claim due timers, check they still apply, queue their notices, chain the next step.

Timers are claimed with ``FOR UPDATE SKIP LOCKED`` a batch at a time; each
batch is one transaction (mark fired, plan the next escalation, enqueue the
merged notices), so any number of processes may tick at once and nothing
fires twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from core.notices import NoticeKind
from core.reminders import Rung, escalation_rung
from hub.notices.notify import case_context, day, notify
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Routing, unique
from hub.notices.words import overdue_for
from hub.planning.event_notices import applicant_notice
from hub.planning.timers import PlannedTimer, first_overdue_day, next_step_from, upsert_timers
from hub.rectifications import timers as rectification_timers
from hub.store.queries import Q

TICK_BATCH = 500
DUE_SOON = frozenset({NoticeKind.NODE_DUE_SOON, NoticeKind.CASE_DUE_SOON})


async def fire_due(pool: asyncpg.Pool, routing: Routing, now: datetime) -> int:
    """Fire every timer due by ``now``; return how many fired."""
    fired = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            timers = await conn.fetch(Q["claim_due_timers"], now, TICK_BATCH)
            if not timers:
                return fired
            await _fire(conn, routing, timers, now)
            fired += len(timers)


@dataclass(frozen=True, kw_only=True)
class _Batch:
    """The rows a batch of timers refers to, loaded once."""

    cases: Mapping[str, Mapping[str, Any]]
    nodes: Mapping[tuple[str, str], Mapping[str, Any]]
    departments: Mapping[str, Mapping[str, Any]]

    @property
    def person_ids(self) -> list[str]:
        ids = [n["assignee_id"] for n in self.nodes.values()]
        for dept in self.departments.values():
            ids += [dept["head"], dept["deputy"], *dept["supervisors"]]
        return ids


async def _load(conn: asyncpg.Connection, timers: Sequence[asyncpg.Record]) -> _Batch:
    case_nos = unique([t["case_no"] for t in timers])
    cases = {r["case_no"]: r for r in await conn.fetch(Q["cases_for_planning"], case_nos)}
    nodes = {
        (r["case_no"], r["node_id"]): r for r in await conn.fetch(Q["nodes_for_planning"], case_nos)
    }
    codes = [c["department_code"] for c in cases.values()]
    codes += [n["department_code"] for n in nodes.values()]
    departments = {r["code"]: r for r in await conn.fetch(Q["departments_by_code"], unique(codes))}
    return _Batch(cases=cases, nodes=nodes, departments=departments)


async def _fire(
    conn: asyncpg.Connection, routing: Routing, claimed: Sequence[asyncpg.Record], now: datetime
) -> None:
    # A rectification's reminders (好差评) share the table and the batch, not the case rules.
    rect_timers = [t for t in claimed if rectification_timers.is_rectification_timer(t["kind"])]
    timers = [t for t in claimed if not rectification_timers.is_rectification_timer(t["kind"])]
    batch = await _load(conn, timers)
    rectifications = await rectification_timers.load(conn, rect_timers)
    chained: list[PlannedTimer] = []

    def build(people: People) -> list[Notice]:
        notices, follows = rectification_timers.build(routing, rectifications, people, now)
        chained.extend(follows)
        for timer in timers:
            case = batch.cases.get(timer["case_no"])
            if case is None:
                continue
            node = (
                batch.nodes.get((timer["case_no"], timer["node_id"])) if timer["node_id"] else None
            )
            made, follow = timer_notices(routing, timer, case, node, batch.departments, people, now)
            notices += made
            if follow is not None:
                chained.append(follow)
        return notices

    await conn.execute(Q["mark_timers_fired"], [t["id"] for t in claimed], now)
    person_ids = [*batch.person_ids, *rectifications.person_ids]
    await notify(conn, routing, person_ids, build, now=now, merge=True)
    await upsert_timers(conn, chained)


def still_applies(
    timer: Mapping[str, Any],
    case: Mapping[str, Any],
    node: Mapping[str, Any] | None,
    now: datetime,
) -> bool:
    """A timer fires only for the state it was planned for (not done, not moved, not paused).

    A due-soon timer fired at or after the deadline (the hub was down, the event came
    late) says nothing: the overdue notice of the same node is the true one.
    """
    if timer["kind"] == NoticeKind.EVALUATION_PROMPT:
        return case["rating"] is None and case["withdrawn_at"] is None
    if case["suspended_since"] is not None or case["closed_at"] is not None:
        return False
    source = node if timer["node_id"] else case
    if source is None or source["completed_at"] is not None:
        return False
    if source["deadline_version"] != timer["deadline_version"]:
        return False
    return not (
        timer["kind"] in DUE_SOON and source["due_at"] is not None and now >= source["due_at"]
    )


def timer_notices(
    routing: Routing,
    timer: Mapping[str, Any],
    case: Mapping[str, Any],
    node: Mapping[str, Any] | None,
    departments: Mapping[str, Mapping[str, Any]],
    people: People,
    now: datetime,
) -> tuple[list[Notice], PlannedTimer | None]:
    """The notices a due timer sends, and the next escalation step it chains (if any)."""
    if not still_applies(timer, case, node, now):
        return [], None
    kind = NoticeKind(timer["kind"])
    context = case_context(routing, case, now)
    # Per case, node, deadline version and escalation step: a moved deadline reminds anew.
    version, step = timer["deadline_version"], timer["step"]
    base_key = f"{kind}:{case['case_no']}:{timer['node_id']}:v{version}:s{step}"
    if kind is NoticeKind.EVALUATION_PROMPT:
        return applicant_notice(routing, kind, base_key, case, context, now), None

    source = node if node is not None else case
    dept = departments.get(source["department_code"]) if source["department_code"] else None
    unit = source["limit_unit"] or case["limit_unit"]
    due_date: date = source["due_date"]
    due_at: datetime = source["due_at"]
    context["due_date"] = day(due_date)
    if kind in (NoticeKind.NODE_OVERDUE, NoticeKind.CASE_OVERDUE):
        days = _overdue_days(routing, due_date, now)
        context["overdue_days"] = str(days)
        context["overdue_for"] = overdue_for(unit, working_days=days, elapsed=now - due_at)
        # Merged reminders show the longest overdue; real time elapsed ranks them.
        context["overdue_minutes"] = max(0, int((now - due_at).total_seconds() // 60))
    if node is not None:
        context |= {"node_name": node["name"], "assignee_name": people.name(node["assignee_id"])}

    follow = None
    if kind is NoticeKind.NODE_OVERDUE:
        targets = _rung_targets(escalation_rung(step), node, dept)
        follow = _follow(routing, timer, first_overdue_day(routing, due_at, unit), now)
    elif kind is NoticeKind.NODE_DUE_SOON:
        targets = [node["assignee_id"]] if node is not None else []
    else:  # case_due_soon, case_overdue: the department's supervisors
        targets = list(dept["supervisors"]) if dept else []
    notices = [
        routing.reviewer_notice(
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
    if kind in DUE_SOON:
        # Quiet hours or days off may hold a reminder past the deadline: then it would
        # arrive as a lie ("将于…到期" after the fact), and the overdue notice speaks instead.
        notices = [n for n in notices if n.not_before < due_at]
    return notices, follow


def _follow(
    routing: Routing, timer: Mapping[str, Any], first_day: date, now: datetime
) -> PlannedTimer | None:
    """The chain's next step; steps to the same supervisors already due are skipped.

    A hub that starts (or a case that arrives) long after a deadline would otherwise
    fire the whole chain at one instant: the supervisors would get the same overdue
    notice three times. Each rung hears once; the chain goes on from the next step
    that is still ahead.
    """
    limit = routing.settings.policy.max_escalations
    step = timer["step"]
    if step + 1 >= limit:
        return None
    follow = next_step_from(routing, timer, first_day)
    while (
        follow is not None
        and follow.fire_at <= now
        and escalation_rung(follow.step) is escalation_rung(step)
    ):
        if follow.step + 1 >= limit:
            return None  # the rest of the chain is already due: they have heard it now
        follow = next_step_from(routing, {**timer, "step": follow.step}, first_day)
    return follow


def _overdue_days(routing: Routing, due_date: date, now: datetime) -> int:
    """Working days past ``due_date`` by ``now``'s local day; at least one once overdue."""
    today = now.astimezone(routing.tz).date()
    days = routing.calendar.count_working_days(
        due_date + timedelta(days=1), max(today, due_date) + timedelta(days=1)
    )
    return max(1, days)


def _rung_targets(
    rung: Rung, node: Mapping[str, Any] | None, dept: Mapping[str, Any] | None
) -> list[str]:
    if rung is Rung.ASSIGNEE:
        return [node["assignee_id"]] if node is not None else []
    if rung is Rung.HEAD:
        return [dept["head"]] if dept and dept["head"] else []
    return list(dept["supervisors"]) if dept else []
