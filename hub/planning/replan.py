"""After a calendar import: every affected open case and node re-planned in bulk.

A year imported (or a corrected one) can move the deadlines of every open case
whose span touches it, and give one to every case that had none. Re-projecting
each case from its events would be a loop of queries per case; instead the
stored deadline inputs (start, limit, suspensions, extensions, green channel)
are read a chunk at a time with one query, recomputed in memory with the pure
engine (O(1) working-day arithmetic per deadline), and written back with one
``UPDATE … FROM unnest(…)`` per table. Then the chunk's timers are re-planned as
a batch, set-aside timers are given another try, and each applicant whose
promised date changed — or who had none — gets one ``promised_date_changed``
notice, in the same transaction as the new date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
import structlog

from core.calendar import WorkingCalendar
from core.cases import RulesFor, clip_suspensions
from core.deadlines import Deadline, Limit, Suspension, Unit, compute_deadline
from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from core.stages import STATUTORY_LIMITS, Stage, exceeds_statutory
from hub.notices.notify import case_context, notify
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Routing
from hub.planning import timers
from hub.planning.event_notices import applicant_notice
from hub.store.db import encode_json
from hub.store.queries import Q

log = structlog.get_logger(__name__)

CHUNK = 5000


@dataclass(kw_only=True)
class ReplanResult:
    """How much one re-plan touched."""

    cases: int = 0
    nodes: int = 0
    moved: int = 0  # cases whose promised date changed or appeared
    notices: int = 0
    years: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "years": self.years,
            "cases": self.cases,
            "nodes": self.nodes,
            "moved": self.moved,
            "notices": self.notices,
        }


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _deadline(
    start: datetime | None, limit: Limit | None, calendar: WorkingCalendar, **kwargs: Any
) -> Deadline | None:
    if start is None or limit is None:
        return None
    try:
        return compute_deadline(start, limit, calendar, **kwargs)
    except CalendarYearUnknown:
        return None


def _limit(value: int | None, unit: str | None) -> Limit | None:
    return Limit(value=value, unit=Unit(unit)) if value is not None and unit else None


@dataclass(frozen=True, kw_only=True)
class _CaseDeadlines:
    deadline: Deadline | None
    stages: list[dict[str, Any]]
    exceeds: bool


def _case_deadlines(
    case: Mapping[str, Any], calendar: WorkingCalendar, rules_for: RulesFor
) -> _CaseDeadlines:
    """The case's own deadline and its statutory stages, as ingest would compute them."""
    rules = rules_for(case["matter_code"])
    limit = _limit(case["limit_value"], case["limit_unit"])
    suspensions = [
        Suspension(start=_instant(s["start"]) or case["accepted_at"], end=_instant(s["end"]))
        for s in case["suspensions"]
    ]
    extensions = [Limit(value=e["value"], unit=Unit(e["unit"])) for e in case["extensions"]]
    deadline = _deadline(
        case["accepted_at"],
        limit,
        calendar,
        suspensions=suspensions,
        extensions=extensions,
        green_channel=case["green_channel"],
        warn=rules.warn,
    )
    exceeds = bool(case["exceeds_statutory"])
    if deadline is not None and limit is not None and not rules.governed_by_other_law:
        exceeds = exceeds_statutory(
            case["accepted_at"],
            limit,
            calendar,
            extensions=extensions,
            green_channel=case["green_channel"],
        )
    stages = []
    for stage in case["stages"]:
        kind = Stage(stage["stage"])
        if kind is Stage.DECISION:
            found = deadline
        else:
            found = _deadline(
                _instant(stage["start"]), STATUTORY_LIMITS[kind], calendar, warn=rules.warn
            )
        stages.append(
            stage
            | {
                "due_date": found.due_date.isoformat() if found else None,
                "due_at": found.due_at.isoformat() if found else None,
                "warn_at": found.warn_at.isoformat() if found else None,
                "deadline_unknown": found is None,
                "provisional": bool(found and found.provisional),
            }
        )
    return _CaseDeadlines(deadline=deadline, stages=stages, exceeds=exceeds)


def _node_deadline(
    node: Mapping[str, Any],
    case: Mapping[str, Any],
    case_deadline: Deadline | None,
    calendar: WorkingCalendar,
    rules_for: RulesFor,
) -> Deadline | None:
    limit = _limit(node["limit_value"], node["limit_unit"])
    if limit is None:
        return case_deadline  # a node without its own limit runs on the case's
    records = [
        Suspension(start=_instant(s["start"]) or node["started_at"], end=_instant(s["end"]))
        for s in case["suspensions"]
    ]
    return _deadline(
        node["started_at"],
        limit,
        calendar,
        suspensions=clip_suspensions(records, node["started_at"], node["completed_at"]),
        warn=rules_for(case["matter_code"]).warn,
    )


def _due(d: Deadline | None) -> tuple[date | None, datetime | None, datetime | None]:
    return (d.due_date, d.due_at, d.warn_at) if d else (None, None, None)


async def replan_years(
    pool: asyncpg.Pool,
    routing: Routing,
    rules_for: RulesFor,
    years: Sequence[int],
    *,
    now: datetime,
) -> ReplanResult:
    """Re-plan every open case and node whose deadline touches ``years`` (or has none)."""
    result = ReplanResult(years=sorted(years))
    if not years:
        return result
    tz = routing.settings.calendar.tz.key
    after = ""
    while True:
        async with pool.acquire() as conn, conn.transaction():
            case_nos = [
                r["case_no"]
                for r in await conn.fetch(Q["replan_affected_cases"], list(years), tz, after, CHUNK)
            ]
            if not case_nos:
                break
            await conn.execute(Q["lock_cases"], case_nos)
            await _replan_chunk(
                conn, routing, rules_for, case_nos, years=years, now=now, result=result
            )
            after = case_nos[-1]
    async with pool.acquire() as conn:
        # The cause of a set-aside timer can have changed: the next tick tries them again.
        await conn.execute(Q["retry_set_aside_timers"])
    log.info("calendar_replanned", **result.as_json())
    return result


async def _replan_chunk(
    conn: asyncpg.Connection,
    routing: Routing,
    rules_for: RulesFor,
    case_nos: list[str],
    *,
    years: Sequence[int],
    now: datetime,
    result: ReplanResult,
) -> None:
    calendar = routing.calendar
    cases = {r["case_no"]: r for r in await conn.fetch(Q["replan_cases"], case_nos)}
    node_rows = await conn.fetch(Q["replan_nodes"], case_nos)
    computed = {no: _case_deadlines(case, calendar, rules_for) for no, case in cases.items()}

    case_cols: dict[str, list[Any]] = {k: [] for k in _CASE_COLUMNS}
    moved: list[tuple[Mapping[str, Any], date | None]] = []
    for case_no, case in cases.items():
        found = computed[case_no]
        due_date, due_at, warn_at = _due(found.deadline)
        for name, value in zip(
            _CASE_COLUMNS,
            (
                case_no,
                due_date,
                due_at,
                warn_at,
                encode_json(found.deadline.as_json()) if found.deadline else None,
                found.deadline is None and case["limit_value"] is not None,
                bool(found.deadline and found.deadline.provisional),
                encode_json(found.stages),
                found.exceeds,
            ),
            strict=True,
        ):
            case_cols[name].append(value)
        promised = case["completed_at"] is None and case["applicant"]
        if promised and due_date is not None and due_date != case["due_date"]:
            moved.append((case, case["due_date"]))

    node_cols: dict[str, list[Any]] = {k: [] for k in _NODE_COLUMNS}
    for node in node_rows:
        case = cases[node["case_no"]]
        found_node = _node_deadline(
            node, case, computed[node["case_no"]].deadline, calendar, rules_for
        )
        due_date, due_at, warn_at = _due(found_node)
        for name, value in zip(
            _NODE_COLUMNS,
            (
                node["case_no"],
                node["node_id"],
                due_date,
                due_at,
                warn_at,
                found_node is None and (node["limit_value"] is not None or case["limit_value"]),
                bool(found_node and found_node.provisional),
            ),
            strict=True,
        ):
            node_cols[name].append(value)

    await conn.execute(Q["replan_update_cases"], *case_cols.values(), now)
    if node_rows:
        await conn.execute(Q["replan_update_nodes"], *node_cols.values())
    await timers.replan(conn, routing, case_nos)
    result.cases += len(cases)
    result.nodes += len(node_rows)
    result.moved += len(moved)
    if moved:
        result.notices += await _tell_applicants(conn, routing, moved, years=years, now=now)


_CASE_COLUMNS = (
    "case_no",
    "due_date",
    "due_at",
    "warn_at",
    "deadline",
    "deadline_unknown",
    "provisional",
    "stages",
    "exceeds_statutory",
)
_NODE_COLUMNS = (
    "case_no",
    "node_id",
    "due_date",
    "due_at",
    "warn_at",
    "deadline_unknown",
    "provisional",
)


async def _tell_applicants(
    conn: asyncpg.Connection,
    routing: Routing,
    moved: Sequence[tuple[Mapping[str, Any], date | None]],
    *,
    years: Sequence[int],
    now: datetime,
) -> int:
    """One promised_date_changed per applicant and new date, with the old date (or 待定)."""
    fresh = {
        r["case_no"]: r
        for r in await conn.fetch(Q["cases_for_planning"], [c["case_no"] for c, _ in moved])
    }

    def build(_: People) -> list[Notice]:
        notices: list[Notice] = []
        for before, previous in moved:
            case = fresh[before["case_no"]]
            context = case_context(routing, case, now) | {
                "previous": previous.isoformat() if previous else "待定",
                # The notice names the year whose arrangement moved the date.
                "year": str(case["due_date"].year if case["due_date"].year in years else years[0]),
            }
            key = f"promised_date_changed:{case['case_no']}:{case['due_date'].isoformat()}"
            notices += applicant_notice(
                routing, NoticeKind.PROMISED_DATE_CHANGED, key, case, context, now
            )
        return notices

    return await notify(conn, routing, [], build, now=now)
