"""Timer planning, inside the ingest transaction: the timers a case should have, made so.

An open node has a ``node_due_soon`` and a ``node_overdue`` timer for its
current deadline version (the case as a whole likewise); a completed node, a
suspended case or a moved deadline cancels what no longer applies; a closed,
unrated case gets its evaluation prompt. The overdue chain's next step is
planned here too (:func:`next_step`), for the tick and for a resumed case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import asyncpg
import structlog

from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from core.reminders import escalation_from, overdue_at
from hub.notices.recipients import EVALUATION_DELAY, Routing
from hub.store.queries import Q

log = structlog.get_logger(__name__)

PRUNE_AFTER = timedelta(days=90)


class PlannedTimer(NamedTuple):
    """A timer as planned, before it is stored (a tuple: batches plan hundreds of thousands)."""

    kind: str
    case_no: str
    node_id: str
    step: int
    deadline_version: int
    fire_at: datetime


class OverdueInstants:
    """:func:`first_overdue_at` once per distinct (due instant, unit): a batch's cases share
    a handful of deadlines, and each answer costs a walk over the calendar."""

    def __init__(self, routing: Routing) -> None:
        self.routing = routing
        self._found: dict[tuple[datetime, bool], datetime] = {}

    def __call__(self, due_at: datetime, unit: str | None) -> datetime:
        key = (due_at, unit != "hours")
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = first_overdue_at(self.routing, due_at, unit)
        return found


def desired_timers(
    routing: Routing,
    c: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    overdue: OverdueInstants | None = None,
) -> list[PlannedTimer]:
    """The timers a case ``c`` should have now: none while it is suspended or once it is done."""
    overdue = overdue or OverdueInstants(routing)
    wanted: list[PlannedTimer] = []
    case_no = c["case_no"]
    if c["closed_at"] and not c["withdrawn_at"] and c["rating"] is None:
        wanted.append(
            PlannedTimer(
                kind=NoticeKind.EVALUATION_PROMPT.value,
                case_no=case_no,
                node_id="",
                step=0,
                deadline_version=0,
                fire_at=c["closed_at"] + EVALUATION_DELAY,
            )
        )
    if c["suspended_since"] is not None or c["closed_at"] is not None:
        return wanted
    try:
        if c["completed_at"] is None and c["due_at"] is not None:
            wanted += _pair(overdue, (NoticeKind.CASE_DUE_SOON, NoticeKind.CASE_OVERDUE), c, c)
        for node in nodes:
            if node["completed_at"] is None and node["due_at"] is not None:
                wanted += _pair(
                    overdue, (NoticeKind.NODE_DUE_SOON, NoticeKind.NODE_OVERDUE), c, node
                )
    except CalendarYearUnknown:
        # The due date is known but the day after it is not: plan what we can.
        log.warning("timers_beyond_calendar", case_no=case_no)
    return wanted


def first_overdue_at(routing: Routing, due_at: datetime, unit: str | None) -> datetime:
    """When the overdue chain starts: day units at office start after the due date; hours at
    ``due_at`` inside office hours, else the next office start (contract: node_overdue)."""
    policy = routing.settings.policy
    return overdue_at(
        due_at,
        routing.calendar,
        day_unit=unit != "hours",
        office_start=policy.office_start,
        office_end=policy.office_end,
        tz=routing.tz,
    )


def first_overdue_day(routing: Routing, due_at: datetime, unit: str | None) -> date:
    """The local day the overdue chain's first step fires: later steps count from it."""
    return first_overdue_at(routing, due_at, unit).astimezone(routing.tz).date()


def _pair(
    overdue: OverdueInstants,
    kinds: tuple[NoticeKind, NoticeKind],
    case: Mapping[str, Any],
    source: Mapping[str, Any],
) -> list[PlannedTimer]:
    """The due-soon and overdue timers of ``source`` (the case itself or one of its nodes)."""
    soon, late = kinds
    node_id = "" if source is case else source["node_id"]
    unit = source["limit_unit"] or case["limit_unit"]
    late_at = overdue(source["due_at"], unit)
    # Due soon at warn_at, as the contract says; the tick holds a reviewer's later
    # reminders of a day to a round when they fire (hub.notices.hold.hold_due_soon).
    soon_at = source["warn_at"]
    return [
        PlannedTimer(
            kind=kind.value,  # plain text: an enum member hashes in Python, batches hash many
            case_no=case["case_no"],
            node_id=node_id,
            step=0,
            deadline_version=source["deadline_version"],
            fire_at=fire_at,
        )
        for kind, fire_at in ((soon, soon_at), (late, late_at))
    ]


async def replan(
    conn: asyncpg.Connection,
    routing: Routing,
    case_nos: Sequence[str],
    *,
    move_versions: bool = False,
) -> None:
    """Make the timers of ``case_nos`` match their current state."""
    cases = await conn.fetch(Q["cases_for_planning"], list(case_nos))
    nodes: dict[str, list[asyncpg.Record]] = {}
    for row in await conn.fetch(Q["nodes_for_planning"], list(case_nos)):
        nodes.setdefault(row["case_no"], []).append(row)
    await replan_known(conn, routing, case_nos, cases, nodes, move_versions=move_versions)


async def replan_known(
    conn: asyncpg.Connection,
    routing: Routing,
    case_nos: Sequence[str],
    cases: Sequence[Mapping[str, Any]],
    nodes: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    move_versions: bool = False,
) -> None:
    """Make the timers of ``case_nos`` match ``cases`` and their ``nodes`` (by case number),
    as the caller read or just wrote them: the bulk re-plan knows them without reading again.

    ``move_versions`` (the bulk re-plan): a pending timer whose deadline moved is given
    its new version and instant in place, instead of being cancelled beside a new row.
    """
    overdue = OverdueInstants(routing)
    wanted = [
        t for c in cases for t in desired_timers(routing, c, nodes.get(c["case_no"], ()), overdue)
    ]
    # One read for the timers to compare and for how far each overdue chain got.
    stored = await conn.fetch(Q["timers_to_replan"], list(case_nos))
    pending = [r for r in stored if r["status"] != "fired"]
    fired: dict[tuple[str, str, int], int] = {}
    for r in stored:
        if r["status"] == "fired":
            key = (r["case_no"], r["node_id"], r["deadline_version"])
            fired[key] = max(r["step"], fired.get(key, -1))
    if fired:
        units = {c["case_no"]: c["limit_unit"] for c in cases}
        wanted = _resume_escalations(routing, wanted, fired, nodes, units)
    writes = timer_writes(pending, wanted, move_versions=move_versions)
    if writes.cancel:
        await conn.execute(Q["cancel_timers"], writes.cancel)
    if writes.move:
        await conn.execute(Q["move_timers"], *map(list, zip(*writes.move, strict=True)))
    if writes.retime:
        await conn.execute(Q["retime_timers"], *map(list, zip(*writes.retime, strict=True)))
    await upsert_timers(conn, writes.new)


@dataclass(frozen=True, kw_only=True)
class TimerWrites:
    """What makes the stored timers of some cases the wanted ones."""

    cancel: list[int]  # ids of pending (or set-aside) timers that no longer apply
    move: list[tuple[int, int, datetime]]  # (id, new deadline version, fire_at), in place
    retime: list[tuple[int, datetime]]  # (id, fire_at): same version, another instant
    new: list[PlannedTimer]  # inserted, or a cancelled / set-aside one brought back


def timer_writes(
    pending: Sequence[Mapping[str, Any]],
    wanted: Sequence[PlannedTimer],
    *,
    move_versions: bool = False,
) -> TimerWrites:
    """Only what differs: a re-plan that moved nothing (most of a calendar import's cases,
    or a case's next event) writes nothing for its pending timers."""
    keep = {(t.case_no, t.node_id, t.kind, t.deadline_version) for t in wanted}
    # One pass over the stored rows, each field read once: a bulk re-plan compares
    # hundreds of thousands of them.
    waiting: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    stored: set[tuple[Any, ...]] = set()
    stale: list[Mapping[str, Any]] = []
    movable: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for r in pending:
        case_no, node_id, kind, version = (
            r["case_no"],
            r["node_id"],
            r["kind"],
            r["deadline_version"],
        )
        key = (case_no, node_id, kind, r["step"], version)
        stored.add(key)
        is_pending = r["status"] == "pending"
        if is_pending:
            waiting[key] = r
        if (case_no, node_id, kind, version) not in keep:
            stale.append(r)
            if move_versions and is_pending:
                movable[key[:4]] = r
    move: list[tuple[int, int, datetime]] = []
    retime: list[tuple[int, datetime]] = []
    new: list[PlannedTimer] = []
    for timer in wanted:
        key = (timer.case_no, timer.node_id, timer.kind, timer.step, timer.deadline_version)
        found = waiting.get(key)
        if found is not None:
            if found["fire_at"] != timer.fire_at:
                # Same deadline version, another instant: the calendar or the policy moved
                # the warning or the first working day after the due date.
                retime.append((found["id"], timer.fire_at))
            continue
        # A set-aside row of the wanted version is brought back by the upsert; moving
        # another row onto its version would collide with it.
        old = None if key in stored else movable.pop(key[:4], None)
        if old is not None:
            move.append((old["id"], timer.deadline_version, timer.fire_at))
        else:
            new.append(timer)
    moved = {i for i, _, _ in move}
    return TimerWrites(
        cancel=[r["id"] for r in stale if r["id"] not in moved], move=move, retime=retime, new=new
    )


def _resume_escalations(
    routing: Routing,
    wanted: list[PlannedTimer],
    fired: Mapping[tuple[str, str, int], int],
    nodes: Mapping[str, Sequence[Mapping[str, Any]]],
    units: Mapping[str, str | None],
) -> list[PlannedTimer]:
    """An escalation chain already under way goes on from its next step, not step 0.

    ``fired``: the last step fired per (case, node, deadline version). A suspension that
    moved nothing (resumed the same day) keeps the deadline version, so the overdue chain
    it cancelled must pick up where it stopped.
    """
    by_key = {(n["case_no"], n["node_id"]): n for ns in nodes.values() for n in ns}
    resumed: list[PlannedTimer] = []
    for timer in wanted:
        last = fired.get((timer.case_no, timer.node_id, timer.deadline_version))
        node = by_key.get((timer.case_no, timer.node_id))
        if timer.kind != NoticeKind.NODE_OVERDUE or last is None or node is None:
            resumed.append(timer)
            continue
        if last + 1 >= routing.settings.policy.max_escalations:
            continue  # the chain ran its course
        follow = next_step_from(
            routing,
            {
                "kind": timer.kind,
                "case_no": timer.case_no,
                "node_id": timer.node_id,
                "step": last,
                "deadline_version": timer.deadline_version,
            },
            first_overdue_day(
                routing, node["due_at"], node["limit_unit"] or units.get(timer.case_no)
            ),
        )
        if follow is not None:
            resumed.append(follow)
    return resumed


def next_step(routing: Routing, timer: Mapping[str, Any], due_date: date) -> PlannedTimer | None:
    """The next escalation of a day-unit chain after ``timer``, counted from ``due_date``."""
    try:
        first_day = routing.calendar.add_working_days(due_date, 1)
    except CalendarYearUnknown:
        log.warning("escalation_beyond_calendar", case_no=timer["case_no"], step=timer["step"] + 1)
        return None
    return next_step_from(routing, timer, first_day)


def next_step_from(
    routing: Routing, timer: Mapping[str, Any], first_day: date
) -> PlannedTimer | None:
    """The overdue chain's next escalation after ``timer``; None past the calendar's end.

    ``first_day`` is the day the chain's first step fired (:func:`first_overdue_day`):
    step k goes at office start k working days later, for day and hours units alike.
    """
    step = timer["step"] + 1
    try:
        fire_at = escalation_from(
            first_day,
            step,
            routing.calendar,
            office_start=routing.settings.policy.office_start,
            tz=routing.tz,
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


async def upsert_timers(conn: asyncpg.Connection, timers: Sequence[PlannedTimer]) -> None:
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


async def prune(pool: asyncpg.Pool, now: datetime) -> int:
    """Forget timers that fired or were cancelled more than PRUNE_AFTER ago."""
    async with pool.acquire() as conn:
        status: str = await conn.execute(Q["prune_timers"], now - PRUNE_AFTER)
    return int(status.split()[-1])


async def next_fire_at(pool: asyncpg.Pool) -> datetime | None:
    async with pool.acquire() as conn:
        value: datetime | None = await conn.fetchval(Q["next_timer"])
        return value
