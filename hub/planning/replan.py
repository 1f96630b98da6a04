"""After a calendar import: every affected open case and node re-planned in bulk.

A year imported (or a corrected one) can move the deadlines of every open case
whose span touches it, and give one to every case that had none. Re-projecting
each case from its events would be a loop of queries per case; instead the
stored deadline inputs (start, limit, suspensions, extensions, green channel)
are read a chunk at a time with one query, recomputed in memory (each distinct
acceptance day and limit once: the calendar remembers them), and written back
with one ``UPDATE … FROM unnest(…)`` per table. Then the chunk's timers are
re-planned as a batch, and each applicant whose promised date changed — or who
had none — gets one ``promised_date_changed`` notice, in the same transaction
as the new date. Set-aside timers are given another try.

Chunks run two at a time on their own connections, so the database writes one
chunk while Python computes the next. A case whose inputs cannot be computed is
skipped and logged, not the chunk; a chunk the database refuses as a whole is
re-planned one case per transaction, so one bad row never stops the rest.
"""

from __future__ import annotations

import asyncio
import functools
import time
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
from hub.notices.notify import case_context
from hub.notices.outbox import Notice, enqueue
from hub.notices.recipients import Routing
from hub.planning import timers
from hub.planning.event_notices import applicant_notice
from hub.store.db import encode_json
from hub.store.queries import Q

log = structlog.get_logger(__name__)

CHUNK = 2000  # two chunks at once stay well inside the lock table (advisory locks per case)
CONCURRENT_CHUNKS = 2  # one written by the database while the next is computed
PROGRESS_SECONDS = 5.0


@dataclass(kw_only=True)
class ReplanResult:
    """How much one re-plan touched."""

    cases: int = 0
    nodes: int = 0
    moved: int = 0  # cases whose promised date changed or appeared
    notices: int = 0
    failed: int = 0  # cases left as they were: their inputs or their rows were refused
    years: list[int] = field(default_factory=list)

    def add(self, other: ReplanResult) -> None:
        self.cases += other.cases
        self.nodes += other.nodes
        self.moved += other.moved
        self.notices += other.notices
        self.failed += other.failed

    def as_json(self) -> dict[str, object]:
        return {
            "years": self.years,
            "cases": self.cases,
            "nodes": self.nodes,
            "moved": self.moved,
            "notices": self.notices,
            "failed": self.failed,
        }


# --- the pure part: a chunk's new deadlines -------------------------------------------------


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@functools.lru_cache(maxsize=1024)
def _limit(value: int | None, unit: str | None) -> Limit | None:
    """One (immutable) Limit per distinct stored limit."""
    return Limit(value=value, unit=Unit(unit)) if value is not None and unit else None


def _deadline(
    calendar: WorkingCalendar, start: datetime | None, limit: Limit | None, **kwargs: Any
) -> Deadline | None:
    if start is None or limit is None:
        return None
    try:
        return compute_deadline(start, limit, calendar, **kwargs)
    except CalendarYearUnknown:
        return None


def _due(d: Deadline | None) -> tuple[date | None, datetime | None, datetime | None]:
    return (d.due_date, d.due_at, d.warn_at) if d else (None, None, None)


@dataclass(frozen=True, kw_only=True)
class CaseDeadlines:
    """A case's new deadline, its statutory stages and whether it exceeds Art. 42."""

    deadline: Deadline | None
    stages: list[dict[str, Any]]
    exceeds: bool


def case_deadlines(
    case: Mapping[str, Any], calendar: WorkingCalendar, rules_for: RulesFor
) -> CaseDeadlines:
    """The case's own deadline and its statutory stages, as ingest would compute them."""
    rules = rules_for(case["matter_code"])
    limit = _limit(case["limit_value"], case["limit_unit"])
    suspensions = [
        Suspension(start=_instant(s["start"]) or case["accepted_at"], end=_instant(s["end"]))
        for s in case["suspensions"]
    ]
    extensions = [Limit(value=e["value"], unit=Unit(e["unit"])) for e in case["extensions"]]
    deadline = _deadline(
        calendar,
        case["accepted_at"],
        limit,
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
                calendar, _instant(stage["start"]), STATUTORY_LIMITS[kind], warn=rules.warn
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
    return CaseDeadlines(deadline=deadline, stages=stages, exceeds=exceeds)


def node_deadline(
    node: Mapping[str, Any],
    case: Mapping[str, Any],
    case_deadline: Deadline | None,
    calendar: WorkingCalendar,
    rules_for: RulesFor,
) -> Deadline | None:
    """A node's new deadline: its own limit from its start, the case's suspensions clipped."""
    limit = _limit(node["limit_value"], node["limit_unit"])
    if limit is None:
        return case_deadline  # a node without its own limit runs on the case's
    records = [
        Suspension(start=_instant(s["start"]) or node["started_at"], end=_instant(s["end"]))
        for s in case["suspensions"]
    ]
    return _deadline(
        calendar,
        node["started_at"],
        limit,
        suspensions=clip_suspensions(records, node["started_at"], node["completed_at"]),
        warn=rules_for(case["matter_code"]).warn,
    )


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


@dataclass(frozen=True, kw_only=True, slots=True)
class Moved:
    """A case whose applicant hears of a new promised date: the case as read, its new date."""

    case: Mapping[str, Any]
    due_date: date
    provisional: bool
    previous: date | None


@dataclass(kw_only=True)
class ChunkPlan:
    """What a chunk's re-plan writes: one column list per ``UPDATE … FROM unnest`` parameter
    (only rows whose deadlines changed), the cases whose applicant hears of a new date, and
    every computed case and open node as they stand once written (what their timers follow)."""

    cases: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in _CASE_COLUMNS})
    nodes: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in _NODE_COLUMNS})
    moved: list[Moved] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    case_nos: list[str] = field(default_factory=list)  # every case computed, written or not
    node_count: int = 0  # every open node computed
    timed: list[dict[str, Any]] = field(default_factory=list)  # the cases, as written
    timed_nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add_case(self, case: Mapping[str, Any], found: CaseDeadlines) -> None:
        self.case_nos.append(case["case_no"])
        due_date, due_at, warn_at = _due(found.deadline)
        self.timed.append(_as_written(case, due_at, warn_at, _TIMED_CASE))
        deadline = found.deadline.as_json() if found.deadline else None
        unknown = found.deadline is None and case["limit_value"] is not None
        provisional = bool(found.deadline and found.deadline.provisional)
        promised = case["completed_at"] is None and case["applicant"]
        if promised and due_date is not None and due_date != case["due_date"]:
            self.moved.append(
                Moved(
                    case=case, due_date=due_date, provisional=provisional, previous=case["due_date"]
                )
            )
        if (deadline, unknown, provisional, found.stages, found.exceeds) == (
            case["deadline"],
            case["deadline_unknown"],
            case["provisional"],
            case["stages"],
            case["exceeds_statutory"],
        ):
            return  # nothing to write: most cases when an import moves few dates
        row = (
            case["case_no"],
            due_date,
            due_at,
            warn_at,
            encode_json(deadline) if deadline is not None else None,
            unknown,
            provisional,
            encode_json(found.stages),
            found.exceeds,
        )
        for column, value in zip(self.cases.values(), row, strict=True):
            column.append(value)

    def add_node(
        self, node: Mapping[str, Any], case: Mapping[str, Any], found: Deadline | None
    ) -> None:
        self.node_count += 1
        due_date, due_at, warn_at = _due(found)
        self.keep_node(_as_written(node, due_at, warn_at, _TIMED_NODE))
        unknown = found is None and bool(node["limit_value"] is not None or case["limit_value"])
        provisional = bool(found and found.provisional)
        if (due_at, warn_at, unknown, provisional) == (
            node["due_at"],
            node["warn_at"],
            node["deadline_unknown"],
            node["provisional"],
        ):
            return
        row = (
            node["case_no"],
            node["node_id"],
            due_date,
            due_at,
            warn_at,
            unknown,
            provisional,
        )
        for column, value in zip(self.nodes.values(), row, strict=True):
            column.append(value)

    def keep_node(self, node: dict[str, Any]) -> None:
        """A node as its timers see it (recomputed, or as read when it could not be)."""
        self.timed_nodes.setdefault(node["case_no"], []).append(node)


#: What :func:`hub.planning.timers.desired_timers` reads of a case and of a node, besides
#: the instants and the deadline version.
_TIMED_CASE = ("case_no", "closed_at", "suspended_since", "completed_at", "limit_unit")
_TIMED_NODE = ("case_no", "node_id", "completed_at", "limit_unit")


def _as_written(
    row: Mapping[str, Any],
    due_at: datetime | None,
    warn_at: datetime | None,
    columns: tuple[str, ...],
) -> dict[str, Any]:
    """What the timers read of ``row`` once its new instants are written; its deadline
    version moves when the due instant does (as ``replan_update_cases`` and
    ``replan_update_nodes`` write it)."""
    timed = {k: row[k] for k in columns}
    timed["due_at"] = due_at
    timed["warn_at"] = warn_at
    timed["deadline_version"] = row["deadline_version"] + (due_at != row["due_at"])
    return timed


def plan_chunk(
    cases: Sequence[Mapping[str, Any]],
    nodes: Sequence[Mapping[str, Any]],
    calendar: WorkingCalendar,
    rules_for: RulesFor,
) -> ChunkPlan:
    """The new deadlines of ``cases`` and their open ``nodes``; a case that cannot be
    computed (a stored input the engine refuses) is left out, with its nodes, and named."""
    plan = ChunkPlan()
    computed: dict[str, CaseDeadlines] = {}
    by_no = {c["case_no"]: c for c in cases}
    for case in cases:
        try:
            computed[case["case_no"]] = found = case_deadlines(case, calendar, rules_for)
        except Exception:  # one bad row never stops the chunk
            log.exception("replan_case_failed", case_no=case["case_no"])
            plan.failed.append(case["case_no"])
            continue
        plan.add_case(case, found)
    for node in nodes:
        case_found = computed.get(node["case_no"])
        if case_found is None:
            continue
        case = by_no[node["case_no"]]
        try:
            found_node = node_deadline(node, case, case_found.deadline, calendar, rules_for)
        except Exception:
            log.exception("replan_node_failed", case_no=node["case_no"], node_id=node["node_id"])
            plan.keep_node(_as_written(node, node["due_at"], node["warn_at"], _TIMED_NODE))
            continue  # the node keeps its deadline; the case's others go on
        plan.add_node(node, case, found_node)
    return plan


# --- the chunks ------------------------------------------------------------------------------


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
    async with pool.acquire() as conn:
        affected = [
            r["case_no"] for r in await conn.fetch(Q["replan_affected_cases"], list(years), tz)
        ]
    chunks = [affected[i : i + CHUNK] for i in range(0, len(affected), CHUNK)]
    progress = _Progress(total=len(affected))
    # The caller may hold a connection of the pool (the year's lock): leave it one more.
    slots = asyncio.Semaphore(max(1, min(CONCURRENT_CHUNKS, pool.get_max_size() - 2)))

    async def one(case_nos: list[str]) -> None:
        async with slots:
            await _replan_chunk_or_cases(pool, routing, rules_for, case_nos, years, now, result)
            progress.done(len(case_nos), result)

    tasks = [asyncio.create_task(one(chunk)) for chunk in chunks]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:  # the database went away: no chunk goes on alone
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    async with pool.acquire() as conn:
        # The cause of a set-aside timer can have changed: the next tick tries them again.
        await conn.execute(Q["retry_set_aside_timers"])
    log.info("calendar_replanned", **result.as_json())
    return result


@dataclass(kw_only=True)
class _Progress:
    """A ``calendar_replan_progress`` line every few seconds of a long re-plan."""

    total: int
    count: int = 0
    started: float = field(default_factory=time.monotonic)
    shown: float = field(default_factory=time.monotonic)

    def done(self, count: int, result: ReplanResult) -> None:
        self.count += count
        clock = time.monotonic()
        if clock - self.shown >= PROGRESS_SECONDS and self.count < self.total:
            self.shown = clock
            log.info(
                "calendar_replan_progress",
                done=self.count,
                total=self.total,
                seconds=round(clock - self.started, 1),
                moved=result.moved,
                failed=result.failed,
            )


# Failures of the connection, not of a row: retrying case by case would only repeat them.
_UNREACHABLE = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


async def _replan_chunk_or_cases(
    pool: asyncpg.Pool,
    routing: Routing,
    rules_for: RulesFor,
    case_nos: list[str],
    years: Sequence[int],
    now: datetime,
    result: ReplanResult,
) -> None:
    """The chunk in one transaction; should the database refuse it, each case in its own."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            done = await _replan_chunk(
                conn, routing, rules_for, case_nos, years=years, now=now, move_versions=True
            )
        result.add(done)
        return
    except _UNREACHABLE:
        raise  # the database itself is gone: no row is to blame, the import is retried
    except Exception as exc:  # a row the database (or a template) refuses: find it
        log.warning("replan_chunk_failed", cases=len(case_nos), error=str(exc))
    for case_no in case_nos:
        try:
            async with pool.acquire() as conn, conn.transaction():
                # The plain way, row by row: the case's old timers cancelled, new ones added.
                done = await _replan_chunk(
                    conn, routing, rules_for, [case_no], years=years, now=now, move_versions=False
                )
        except _UNREACHABLE:
            raise
        except Exception:  # this case keeps its old dates; the others go on
            log.exception("replan_case_failed", case_no=case_no)
            result.failed += 1
            continue
        result.add(done)


async def _replan_chunk(
    conn: asyncpg.Connection,
    routing: Routing,
    rules_for: RulesFor,
    case_nos: list[str],
    *,
    years: Sequence[int],
    now: datetime,
    move_versions: bool,
) -> ReplanResult:
    """Re-plan ``case_nos`` inside the caller's transaction: deadlines, timers, applicants."""
    await conn.execute(Q["lock_cases"], case_nos)
    cases = await conn.fetch(Q["replan_cases"], case_nos)
    nodes = await conn.fetch(Q["replan_nodes"], case_nos)
    # Computed without an await: no calendar swap falls inside a chunk. Deadlines are
    # remembered per acceptance day on the calendar (core.deadlines), so a centre's
    # 100,000 cases cost a few hundred computations.
    plan = plan_chunk(cases, nodes, routing.calendar, rules_for)
    if plan.cases["case_no"]:
        await conn.execute(Q["replan_update_cases"], *plan.cases.values(), now)
    if plan.nodes["case_no"]:
        await conn.execute(Q["replan_update_nodes"], *plan.nodes.values())
    # Every case's timers, from the rows as just written: the first working day after an
    # unchanged due date can move too.
    await timers.replan_known(
        conn, routing, plan.case_nos, plan.timed, plan.timed_nodes, move_versions=move_versions
    )
    notices = 0
    if plan.moved:
        notices = await _tell_applicants(conn, routing, plan.moved, years=years, now=now)
    return ReplanResult(
        cases=len(plan.case_nos),
        nodes=plan.node_count,
        moved=len(plan.moved),
        notices=notices,
        failed=len(plan.failed),
    )


async def _tell_applicants(
    conn: asyncpg.Connection,
    routing: Routing,
    moved: Sequence[Moved],
    *,
    years: Sequence[int],
    now: datetime,
) -> int:
    """One promised_date_changed per applicant and new date, with the old date (or 待定)."""
    notices: list[Notice] = []
    for m in moved:
        case = {
            "case_no": m.case["case_no"],
            "matter_name": m.case["matter_name"],
            "department_name": m.case["department_name"],
            "department_code": m.case["department_code"],
            "due_date": m.due_date,
            "provisional": m.provisional,
            "applicant": m.case["applicant"],
        }
        context = case_context(routing, case, now) | {
            "previous": m.previous.isoformat() if m.previous else "待定",
            # The notice names the year whose arrangement moved the date.
            "year": str(m.due_date.year if m.due_date.year in years else years[0]),
        }
        key = f"promised_date_changed:{case['case_no']}:{m.due_date.isoformat()}"
        notices += applicant_notice(
            routing, NoticeKind.PROMISED_DATE_CHANGED, key, case, context, now
        )
    return await enqueue(
        conn,
        notices,
        now=now,
        max_attempts=routing.settings.policy.max_attempts,
        vault=routing.vault,
    )
