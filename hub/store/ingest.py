"""Thin typed repository functions over asyncpg; every SQL text lives in ``sql/queries.sql``."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

import asyncpg
import orjson

from core.calendar import WorkingCalendar
from core.cases import CaseFold, CaseState, NodeState, RulesFor, fold_events, project_fold
from core.deadlines import Deadline
from core.errors import CuibanError
from core.events import EVENT_ADAPTER, Event, NodeStarted
from hub.privacy.people import sealed_contacts
from hub.privacy.records import (
    ApplicantSealer,
    opened_fold,
    opened_payload,
    sealed_fold,
    sealed_payload,
)
from hub.privacy.vault import Vault
from hub.store.queries import Q


class EventConflict(CuibanError):
    """An event_id was sent again with a different body."""

    def __init__(self, event_ids: Sequence[str]) -> None:
        super().__init__(
            "event_id already used for a different event: " + ", ".join(sorted(event_ids))
        )
        self.event_ids = tuple(sorted(event_ids))


@dataclass(frozen=True, kw_only=True)
class IncomingEvent:
    """An event as the approval system sent it (``raw``, stored as is) and as validated."""

    raw: Mapping[str, Any]
    event: Event

    @cached_property
    def body_hash(self) -> bytes:
        """SHA-256 of the body with sorted keys: what makes a re-sent event a duplicate."""
        try:
            canonical = orjson.dumps(self.raw, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # beyond orjson (e.g. a 65-bit integer): the standard form
            return self.legacy_body_hash
        return hashlib.sha256(canonical).digest()

    @cached_property
    def legacy_body_hash(self) -> bytes:
        """The hash as stored before orjson; equal to ``body_hash`` for every ordinary body
        (same separators, UTF-8, sorted keys), kept for bodies the two encoders spell
        differently (floats such as 1e+20) so an old event re-sent is still a duplicate."""
        canonical = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).digest()


@dataclass(frozen=True, kw_only=True)
class Projected:
    """The cases a batch touched and their nodes as just written, by column name.

    What the planner reads (``cases_for_planning``, ``nodes_for_planning``), handed over
    instead of read back in the same transaction; ``nodes`` by case number.
    """

    cases: list[dict[str, Any]]
    nodes: dict[str, list[dict[str, Any]]]


@dataclass(frozen=True, kw_only=True)
class IngestResult:
    accepted: int
    duplicates: int
    cases: tuple[str, ...]


def new_query_code() -> str:
    """Six digits an applicant can type on a phone; drawn from the OS's CSPRNG."""
    return f"{secrets.randbelow(1_000_000):06d}"


class AfterIngest(Protocol):
    """Work done in the ingest transaction once the cases are re-projected (planning notices)."""

    async def __call__(
        self,
        conn: asyncpg.Connection,
        case_nos: Sequence[str],
        events: Sequence[Event],
        *,
        now: datetime,
        projected: Projected,
    ) -> None: ...


async def ingest(
    conn: asyncpg.Connection,
    batch: Sequence[IncomingEvent],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    rules_for: RulesFor,
    vault: Vault,
    after: AfterIngest | None = None,
) -> IngestResult:
    """Store a batch of events and re-project every case it touches, in one transaction.

    ``after`` runs in the same transaction, so the notices a change causes are
    stored with it or not at all. Raises EventConflict (and changes nothing) if
    any event_id was used before with a different body. Personal parts are
    stored sealed with ``vault`` (hub/privacy/records.py).
    """
    items, duplicates = _unique(batch)
    sealer = ApplicantSealer(vault)  # each applicant sealed once: event, case row and fold
    async with conn.transaction():
        await conn.execute(Q["lock_cases"], sorted({i.event.case_no for i in items}))
        fresh = await _store_events(conn, items, now=now, sealer=sealer)
        duplicates += len(items) - len(fresh)
        touched = sorted({i.event.case_no for i in fresh})
        if touched:
            projected = await _reproject(
                conn,
                touched,
                now=now,
                calendar=calendar,
                rules_for=rules_for,
                sealer=sealer,
                known={i.event.event_id: i.event for i in fresh},
            )
            await _remember_assignees(conn, [i.event for i in fresh], now=now, vault=vault)
            if after is not None:
                await after(conn, touched, [i.event for i in fresh], now=now, projected=projected)
    return IngestResult(accepted=len(fresh), duplicates=duplicates, cases=tuple(touched))


def _unique(batch: Sequence[IncomingEvent]) -> tuple[list[IncomingEvent], int]:
    """The batch without repeats of an event, and how many repeats there were.

    Raises EventConflict if one event_id comes with two different bodies.
    """
    by_id: dict[str, IncomingEvent] = {}
    duplicates = 0
    conflicts: set[str] = set()
    for item in batch:
        seen = by_id.get(item.event.event_id)
        if seen is None:
            by_id[item.event.event_id] = item
        elif seen.body_hash == item.body_hash:
            duplicates += 1
        else:
            conflicts.add(item.event.event_id)
    if conflicts:
        raise EventConflict(sorted(conflicts))
    return list(by_id.values()), duplicates


async def _store_events(
    conn: asyncpg.Connection,
    items: Sequence[IncomingEvent],
    *,
    now: datetime,
    sealer: ApplicantSealer,
) -> list[IncomingEvent]:
    """Insert the events not stored before; return those (the rest are duplicates).

    Raises EventConflict if a stored event_id had another body.
    """
    rows = [
        {
            "event_id": i.event.event_id,
            "case_no": i.event.case_no,
            "type": i.event.type,
            "occurred_at": i.event.occurred_at.isoformat(),
            "body_hash": i.body_hash.hex(),
            # The body as sent, its personal parts sealed; replay validates it again.
            "payload": sealed_payload(sealer, i.raw, i.event),
        }
        for i in items
    ]
    inserted = {row["event_id"] for row in await conn.fetch(Q["insert_events"], rows, now)}
    repeated = [i for i in items if i.event.event_id not in inserted]
    if repeated:
        stored = {
            row["event_id"]: bytes(row["body_hash"])
            for row in await conn.fetch(Q["event_hashes"], [i.event.event_id for i in repeated])
        }
        conflicts = {
            i.event.event_id
            for i in repeated
            if stored[i.event.event_id] not in (i.body_hash, i.legacy_body_hash)
        }
        if conflicts:
            raise EventConflict(sorted(conflicts))
    return [i for i in items if i.event.event_id in inserted]


async def _reproject(
    conn: asyncpg.Connection,
    case_nos: Sequence[str],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    rules_for: RulesFor,
    sealer: ApplicantSealer,
    known: Mapping[str, Event] | None = None,
) -> Projected:
    """Project each case from its stored fold plus ``known`` (the events just stored).

    A case whose new events all happened after what its fold has seen continues
    the fold; any other (no fold yet, or an event that happened earlier arrived
    late) is replayed from all its stored events. Both give the same state
    (tests/unit/core/test_cases.py). ``known`` must be every new event of these
    cases; with none, the folds are projected again (e.g. on a new calendar).
    """
    known = known or {}
    previous = {row["case_no"]: row for row in await conn.fetch(Q["case_keys"], list(case_nos))}
    folds = await _folded(conn, case_nos, previous, known, sealer)
    previous_nodes = {
        (row["case_no"], row["node_id"]): row
        for row in await conn.fetch(Q["node_keys"], list(case_nos))
    }

    case_rows = []
    node_rows = []
    planned = Projected(cases=[], nodes={})
    for case_no in case_nos:
        before = previous.get(case_no)
        state = project_fold(
            folds[case_no],
            calendar=calendar,
            rules_for=rules_for,
            query_code=_query_code(folds[case_no], before),
        )
        case_row = _case_row(state, before, sealer)
        case_rows.append(case_row)
        # The rating is not the events' to set: the row keeps the one it has.
        planned.cases.append({**case_row, "rating": before["rating"] if before else None})
        nodes = [
            _node_row(case_no, n, previous_nodes.get((case_no, n.node_id))) for n in state.nodes
        ]
        node_rows += nodes
        planned.nodes[case_no] = nodes
    await conn.execute(Q["upsert_case"], case_rows, now)
    if node_rows:
        await conn.execute(Q["upsert_node"], node_rows)
    await conn.execute(
        Q["save_case_folds"],
        list(case_nos),
        [sealed_fold(sealer, folds[case_no]) for case_no in case_nos],
    )
    return planned


async def _folded(
    conn: asyncpg.Connection,
    case_nos: Sequence[str],
    previous: Mapping[str, Any],
    known: Mapping[str, Event],
    sealer: ApplicantSealer,
) -> dict[str, CaseFold]:
    """Each case's fold with its new events: continued where it can be, else replayed.

    A continued fold's sealed applicant is handed to ``sealer``: unchanged, it is not
    sealed again for the case row and the fold.
    """
    new: dict[str, list[Event]] = defaultdict(list)
    for event in known.values():
        new[event.case_no].append(event)
    # A case seen for the first time has no events but these: every ingest writes the
    # case row in the transaction that stores its events.
    folds = {
        case_no: fold_events(CaseFold(case_no=case_no), new[case_no])
        for case_no in case_nos
        if case_no not in previous
    }
    seen_before = [case_no for case_no in case_nos if case_no in previous]
    for row in await conn.fetch(Q["case_folds"], seen_before) if seen_before else ():
        fold = CaseFold.from_snapshot(opened_fold(sealer.vault, row["fold"]))
        if fold is not None and fold.continues_with(new[row["case_no"]]):
            sealer.remember_fold(fold, row["fold"])
            folds[row["case_no"]] = fold_events(fold, new[row["case_no"]])
    replay = [case_no for case_no in case_nos if case_no not in folds]
    if replay:
        folds.update(await _replayed(conn, replay, known, sealer.vault))
    return folds


async def _replayed(
    conn: asyncpg.Connection, case_nos: Sequence[str], known: Mapping[str, Event], vault: Vault
) -> dict[str, CaseFold]:
    """Every stored event of these cases folded in the order they happened."""
    # Events just validated by the caller are reused, not read back and validated again.
    events: dict[str, list[Event]] = defaultdict(list)
    for row in await conn.fetch(Q["events_of_cases"], list(case_nos), list(known)):
        event = known.get(row["event_id"])
        if event is None:
            event = EVENT_ADAPTER.validate_python(opened_payload(vault, row["payload"]))
        events[row["case_no"]].append(event)
    return {
        case_no: fold_events(CaseFold(case_no=case_no), events[case_no]) for case_no in case_nos
    }


def _query_code(fold: CaseFold, before: Mapping[str, Any] | None) -> str | None:
    """The code the case keeps; a new one on first acceptance when the event brings none."""
    kept: str | None = before["query_code"] if before else None
    if kept is None and fold.accepted is not None and not fold.accepted.query_code:
        return new_query_code()
    return kept


def _version(before: Mapping[str, Any] | None, due_at: datetime | None) -> int:
    """A deadline's version goes up each time its due instant moves (reminders key on it)."""
    if before is None:
        return 0
    version: int = before["deadline_version"]
    return version + 1 if before["due_at"] != due_at else version


def _deadline_json(deadline: Deadline | None) -> dict[str, object] | None:
    return deadline.as_json() if deadline else None


def _case_row(
    state: CaseState, before: Mapping[str, Any] | None, sealer: ApplicantSealer
) -> dict[str, Any]:
    """One row of ``upsert_case``, by column name (the query reads a JSON array of these)."""
    d = state.deadline
    applicant = state.applicant
    return {
        "case_no": state.case_no,
        "status": state.status,
        "matter_code": state.matter.code if state.matter else None,
        "matter_name": state.matter.name if state.matter else None,
        "department_code": state.department.code if state.department else None,
        "department_name": state.department.name if state.department else None,
        "applicant": sealer.seal(applicant) if applicant else None,
        "query_code": state.query_code,
        "project_id": state.project.id if state.project else None,
        "project": state.project.model_dump(mode="json") if state.project else None,
        "green_channel": state.green_channel,
        "co_departments": list(state.co_departments),
        "limit_value": state.limit.value if state.limit else None,
        "limit_unit": str(state.limit.unit) if state.limit else None,
        "applied_at": state.applied_at,
        "accepted_at": state.accepted_at,
        "decided_at": state.decided_at,
        "decision": state.decision,
        "ready_at": state.ready_at,
        "pickup": state.pickup.model_dump(mode="json", exclude={"event_id", "type", "case_no"})
        if state.pickup
        else None,
        "picked_up_at": state.picked_up_at,
        "closed_at": state.closed_at,
        "withdrawn_at": state.withdrawn_at,
        "completed_at": state.completed_at,
        "suspended_since": state.suspended_since,
        "suspensions": [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat() if s.end else None,
                "reason": s.reason,
            }
            for s in state.suspensions
        ],
        "extensions": [{"value": e.value, "unit": str(e.unit)} for e in state.extensions],
        "due_date": d.due_date if d else None,
        "due_at": d.due_at if d else None,
        "warn_at": d.warn_at if d else None,
        "deadline": _deadline_json(d),
        "deadline_unknown": state.deadline_unknown,
        "deadline_version": _version(before, d.due_at if d else None),
        "exceeds_statutory": state.exceeds_statutory,
        "stages": [
            {
                "stage": str(s.stage),
                "start": s.start.isoformat(),
                "due_date": s.deadline.due_date.isoformat() if s.deadline else None,
                "due_at": s.deadline.due_at.isoformat() if s.deadline else None,
                "warn_at": s.deadline.warn_at.isoformat() if s.deadline else None,
                "completed_at": s.completed_at.isoformat() if s.completed_at else None,
                "deadline_unknown": s.deadline_unknown,
                "provisional": bool(s.deadline and s.deadline.provisional),
            }
            for s in state.stages
        ],
        "provisional": bool(d and d.provisional),
        # bytea's text form, as the JSON row carries it.
        "applicant_mobile_index": "\\x" + sealer.index(applicant, before).hex()
        if applicant
        else None,
    }


def _node_row(case_no: str, node: NodeState, before: Mapping[str, Any] | None) -> dict[str, Any]:
    """One row of ``upsert_node``, by column name (the query reads a JSON array of these)."""
    d = node.deadline
    return {
        "case_no": case_no,
        "node_id": node.node_id,
        "name": node.name,
        "department_code": node.department.code,
        "department_name": node.department.name,
        "assignee_id": node.assignee.id,
        "assignee_name": node.assignee.name,
        "limit_value": node.limit.value if node.limit else None,
        "limit_unit": str(node.limit.unit) if node.limit else None,
        "started_at": node.started_at,
        "completed_at": node.completed_at,
        "outcome": node.outcome,
        "comment": node.comment,
        "due_date": d.due_date if d else None,
        "due_at": d.due_at if d else None,
        "warn_at": d.warn_at if d else None,
        "deadline_unknown": node.deadline_unknown,
        "deadline_version": _version(before, d.due_at if d else None),
        "provisional": bool(d and d.provisional),
    }


async def _remember_assignees(
    conn: asyncpg.Connection, events: Sequence[Event], *, now: datetime, vault: Vault
) -> None:
    # One row per person: what the batch's later events say about a contact wins, as
    # one upsert per event in order would leave it (a missing value erases nothing).
    merged: dict[str, list[str | None]] = {}
    for e in events:
        if isinstance(e, NodeStarted):
            a = e.assignee
            told = [a.name, a.mobile, a.email, a.wecom_userid, a.wechat_openid]
            before = merged.get(a.id, [None] * len(told))
            merged[a.id] = [
                now_told if now_told is not None else earlier
                for earlier, now_told in zip(before, told, strict=True)
            ]
    rows = []
    for person_id, (name, mobile, email, wecom_userid, wechat_openid) in merged.items():
        told_contacts = {
            "mobile": mobile,
            "email": email,
            "wecom_userid": wecom_userid,
            "wechat_openid": wechat_openid,
        }
        sealed = sealed_contacts(vault, told_contacts)
        rows.append(
            (
                person_id,
                name,
                sealed["mobile"],
                sealed["email"],
                sealed["wecom_userid"],
                sealed["wechat_openid"],
                now,
                sealed["mobile_index"],
            )
        )
    if rows:
        await conn.executemany(Q["upsert_person_contact"], rows)


# --- reads -----------------------------------------------------------------


async def get_case(
    conn: asyncpg.Connection, case_no: str
) -> tuple[asyncpg.Record, list[dict[str, Any]]] | None:
    """The case and its nodes; a node's department named as the event or the directory does."""
    case = await conn.fetchrow(Q["get_case"], case_no)
    if case is None:
        return None
    nodes = []
    for row in await conn.fetch(Q["nodes_of_case"], case_no):
        node = dict(row)
        registered = node.pop("registered_department_name")
        node["department_name"] = node["department_name"] or registered
        nodes.append(node)
    return case, nodes


async def list_cases(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    department: str | None,
    status: str | None,
    level: str | None,
    after: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q["list_cases"], now, department, status, after, level, limit))


async def put_person(
    conn: asyncpg.Connection,
    person_id: str,
    fields: Mapping[str, Any],
    *,
    now: datetime,
    vault: Vault,
) -> bool:
    """Create or replace a person; their contacts are stored sealed (hub/privacy/people.py)."""
    contacts = sealed_contacts(vault, fields)
    created: bool = await conn.fetchval(
        Q["put_person"],
        person_id,
        fields.get("name"),
        contacts["mobile"],
        contacts["email"],
        contacts["wecom_userid"],
        contacts["wechat_openid"],
        list(fields.get("channels") or []),
        fields.get("quiet_hours"),
        fields.get("away_from"),
        fields.get("away_to"),
        fields.get("away_deputy"),
        now,
        contacts["mobile_index"],
    )
    return created


async def get_person(conn: asyncpg.Connection, person_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(Q["get_person"], person_id)


async def put_department(
    conn: asyncpg.Connection, code: str, fields: Mapping[str, Any], *, now: datetime
) -> bool:
    created: bool = await conn.fetchval(
        Q["put_department"],
        code,
        fields["name"],
        fields.get("head"),
        fields.get("deputy"),
        list(fields.get("supervisors") or []),
        now,
    )
    return created


async def get_department(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(Q["get_department"], code)
