"""The tick: claim due timers, check they still apply, queue their notices, chain the next step.

Timers are claimed with ``FOR UPDATE SKIP LOCKED`` a batch at a time; each
batch is one transaction (mark fired, plan the next escalation, enqueue the
merged notices), so any number of processes may tick at once and nothing
fires twice.

A batch never dies of one bad row. A timer whose notice cannot be computed (its
working days reach a year the calendar does not know, say) is *set aside* on its
own: marked with the error, its department's supervisors told once, retried when
the cause can have changed (a calendar import, a new event of its case) — and the
rest of the batch fires. Should the batch fail as a whole (a row the database
refuses), its timers are fired one per transaction, and only those that still fail
are set aside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from core.reminders import Rung, escalation_rung
from hub.notices.hold import gather_due_soon
from hub.notices.notify import case_context, notify
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Routing, unique
from hub.notices.words import due_words, overdue_for
from hub.planning.event_notices import applicant_notice
from hub.planning.timers import PlannedTimer, first_overdue_day, next_step_from, upsert_timers
from hub.rectifications import timers as rectification_timers
from hub.store.db import acquire_untouched
from hub.store.queries import Q

log = structlog.get_logger(__name__)

TICK_BATCH = 500
DUE_SOON = frozenset({NoticeKind.NODE_DUE_SOON, NoticeKind.CASE_DUE_SOON})
_ERROR_CHARS = 500


@dataclass(frozen=True, kw_only=True)
class SetAside:
    """A timer that could not fire, and why."""

    timer_id: int
    kind: str
    case_no: str
    node_id: str
    step: int
    error: str
    year: int | None = None  # the calendar year it waits for, if that is the cause

    def as_json(self) -> dict[str, object]:
        return {
            "timer_id": self.timer_id,
            "kind": self.kind,
            "case_no": self.case_no,
            "node_id": self.node_id or None,
            "step": self.step,
            "error": self.error,
            "year": self.year,
        }


@dataclass(kw_only=True)
class TickResult:
    """What one tick did: how many timers fired, which were set aside."""

    fired: int = 0
    set_aside: list[SetAside] = field(default_factory=list)
    # The batch chained an escalation that is itself due already (the clock jumped past
    # it): claim again. Otherwise a batch smaller than TICK_BATCH was the last one.
    more_due: bool = field(default=False, compare=False)

    def add(self, other: TickResult) -> None:
        self.fired += other.fired
        self.set_aside += other.set_aside


def _set_aside(timer: Mapping[str, Any], exc: Exception) -> SetAside:
    message = str(exc) or type(exc).__name__
    return SetAside(
        timer_id=timer["id"],
        kind=timer["kind"],
        case_no=timer["case_no"],
        node_id=timer["node_id"],
        step=timer["step"],
        error=f"{type(exc).__name__}: {message}"[:_ERROR_CHARS],
        year=exc.year if isinstance(exc, CalendarYearUnknown) else None,
    )


async def fire_due(pool: asyncpg.Pool, routing: Routing, now: datetime) -> TickResult:
    """Fire every timer due by ``now``; set aside those that cannot fire."""
    result = TickResult()
    while True:
        timers: Sequence[asyncpg.Record] = ()
        # Claims, notices and chained timers change no session state: no reset on release.
        async with acquire_untouched(pool) as conn:
            try:
                async with conn.transaction():
                    timers = await conn.fetch(Q["claim_due_timers"], now, TICK_BATCH)
                    if not timers:
                        return result
                    batch = await _fire(conn, routing, timers, now)
                    result.add(batch)
                # A short batch took every due timer no other process holds: no empty
                # claim (a transaction) to find that out.
                if len(timers) < TICK_BATCH and not batch.more_due:
                    return result
                continue
            except Exception as exc:
                if not timers:
                    raise  # nothing claimed: the database itself failed
                # The batch as a whole failed: find its bad rows one by one.
                log.warning("tick_batch_failed", timers=len(timers), error=str(exc))
        result.add(await _fire_one_by_one(pool, routing, [t["id"] for t in timers], now))


async def fire_due_on(
    conn: asyncpg.Connection, routing: Routing, now: datetime, *, max_batches: int = 100
) -> int:
    """Fire the timers due by ``now`` on ``conn``, inside the caller's transaction.

    For a replayed past (the demo's history month), where no other process may see
    the notices before the replay is done. Returns how many fired.
    """
    fired = 0
    for _ in range(max_batches):
        timers = await conn.fetch(Q["claim_due_timers"], now, TICK_BATCH)
        if not timers:
            break
        fired += (await _fire(conn, routing, timers, now)).fired
    return fired


async def _fire_one_by_one(
    pool: asyncpg.Pool, routing: Routing, ids: Sequence[int], now: datetime
) -> TickResult:
    result = TickResult()
    for timer_id in ids:
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    timers = await conn.fetch(Q["claim_timer"], timer_id, now)
                    if timers:
                        result.add(await _fire(conn, routing, timers, now))
                continue
            except Exception as exc:
                failure = exc
            async with conn.transaction():
                timers = await conn.fetch(Q["claim_timer"], timer_id, now)
                if timers:
                    aside = [_set_aside(timers[0], failure)]
                    await _record_set_aside(conn, aside, now)
                    result.set_aside += aside
    return result


async def _record_set_aside(
    conn: asyncpg.Connection, aside: Sequence[SetAside], now: datetime
) -> None:
    await conn.execute(
        Q["set_timers_aside"], [a.timer_id for a in aside], [a.error for a in aside], now
    )
    for item in aside:
        log.error(
            "timer_set_aside",
            timer_id=item.timer_id,
            kind=item.kind,
            case_no=item.case_no,
            node_id=item.node_id,
            error=item.error,
        )


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
) -> TickResult:
    claimed = await gather_due_soon(conn, routing, claimed, now)
    # A rectification's reminders (好差评) share the table and the batch, not the case rules.
    rect_timers = [t for t in claimed if rectification_timers.is_rectification_timer(t["kind"])]
    timers = [t for t in claimed if not rectification_timers.is_rectification_timer(t["kind"])]
    batch = await _load(conn, timers)
    rectifications = await rectification_timers.load(conn, rect_timers)
    chained: list[PlannedTimer] = []
    aside: list[SetAside] = []

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
            try:
                made, follow = timer_notices(
                    routing, timer, case, node, batch.departments, people, now
                )
            except Exception as exc:  # this timer alone; the rest of the batch fires
                aside.append(_set_aside(timer, exc))
                notices += _tell_supervisors(routing, aside[-1], case, batch, people, now)
                continue
            notices += made
            if follow is not None:
                chained.append(follow)
        return notices

    person_ids = [*batch.person_ids, *rectifications.person_ids]
    await notify(conn, routing, person_ids, build, now=now, merge=True)
    failed = {a.timer_id for a in aside}
    fired = [t["id"] for t in claimed if t["id"] not in failed]
    await conn.execute(Q["mark_timers_fired"], fired, now)
    if aside:
        await _record_set_aside(conn, aside, now)
    await upsert_timers(conn, chained)
    return TickResult(
        fired=len(fired), set_aside=aside, more_due=any(t.fire_at <= now for t in chained)
    )


def _tell_supervisors(
    routing: Routing,
    item: SetAside,
    case: Mapping[str, Any],
    batch: _Batch,
    people: People,
    now: datetime,
) -> list[Notice]:
    """The department's supervisors hear once per case and cause that a reminder waits.

    Only a calendar gap has words for them (deadline_unknown); any other failure is
    logged as ``timer_set_aside`` with the error for the operators.
    """
    if item.year is None:
        return []
    dept = batch.departments.get(case["department_code"]) if case["department_code"] else None
    if not dept:
        return []
    context = case_context(routing, case, now) | {"year": str(item.year)}
    key = f"deadline_unknown:{case['case_no']}:{item.year}"
    notices = []
    for person_id in unique(list(dept["supervisors"])):
        who = people.recipient(person_id, now)
        try:
            notice = routing.reviewer_notice(
                who, NoticeKind.DEADLINE_UNKNOWN, key, context, now=now, case_no=case["case_no"]
            )
        except CalendarYearUnknown:
            # Today itself lies in the unknown year: no working day to wait for, tell now.
            notice = Notice(
                kind=NoticeKind.DEADLINE_UNKNOWN,
                dedupe_key=f"{key}:{who.person_id}",
                addresses=who.addresses,
                context={**context, "link": routing.inbox_link(who.person_id, now)},
                not_before=now,
                case_no=case["case_no"],
                person_id=who.person_id,
                note=who.note,
            )
        notices.append(notice)
    return notices


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
    # "2026-09-24" for day limits, "9月24日14:10" for hours (hub.notices.words.due_words);
    # the instant itself lets a merged reminder name the earliest deadline.
    context["due_date"] = due_words(unit, due_date, due_at, routing.tz)
    if due_at is not None:
        context["due_at"] = due_at.astimezone(UTC).isoformat()
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
