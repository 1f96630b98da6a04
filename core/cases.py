"""A case and its approval nodes, projected from the events the approval system sent.

The projection is a pure fold: ``project_case(events, ...)`` sorts the events by
when they happened (``occurred_at``, arrival order breaking ties) and replays
them, so late and out-of-order events land where they belong. Deadlines are
computed here with the working-day calendar; levels are not stored, they are
read at the clock's now with :func:`core.levels.level_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar

from core.calendar import WorkingCalendar
from core.deadlines import Deadline, Limit, Suspension, WarnPolicy, compute_deadline
from core.errors import CalendarYearUnknown
from core.events import (
    Applicant,
    Assignee,
    CaseAccepted,
    CaseApplied,
    CaseClosed,
    CaseDecided,
    CaseExtended,
    CasePickedUp,
    CaseReadyForPickup,
    CaseResumed,
    CaseSuspended,
    CaseWithdrawn,
    Department,
    Event,
    Matter,
    NodeCompleted,
    NodeStarted,
    Project,
)
from core.stages import STATUTORY_LIMITS, Stage, exceeds_statutory

CaseStatus = Literal[
    "pending",  # events arrived, but neither application nor acceptance yet
    "applied",
    "accepted",
    "decided",
    "ready_for_pickup",
    "picked_up",
    "closed",
    "withdrawn",
]


@dataclass(frozen=True, kw_only=True)
class MatterRules:
    """How deadlines of one matter are warned about and judged."""

    warn: WarnPolicy = field(default_factory=WarnPolicy)
    governed_by_other_law: bool = False


RulesFor = Callable[[str | None], MatterRules]


@dataclass(frozen=True, kw_only=True)
class SuspensionRecord:
    start: datetime
    end: datetime | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class StageState:
    stage: Stage
    start: datetime
    deadline: Deadline | None
    completed_at: datetime | None
    deadline_unknown: bool


@dataclass(frozen=True, kw_only=True)
class NodeState:
    node_id: str
    name: str
    department: Department
    assignee: Assignee
    limit: Limit | None
    started_at: datetime
    completed_at: datetime | None
    outcome: str | None
    comment: str | None
    deadline: Deadline | None
    deadline_unknown: bool

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


@dataclass(frozen=True, kw_only=True)
class CaseState:
    case_no: str
    status: CaseStatus
    matter: Matter | None = None
    department: Department | None = None
    applicant: Applicant | None = None
    limit: Limit | None = None
    green_channel: bool = False
    co_departments: tuple[str, ...] = ()
    query_code: str | None = None
    project: Project | None = None
    applied_at: datetime | None = None
    accepted_at: datetime | None = None
    decided_at: datetime | None = None
    decision: str | None = None
    ready_at: datetime | None = None
    pickup: CaseReadyForPickup | None = None
    picked_up_at: datetime | None = None
    closed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    suspensions: tuple[SuspensionRecord, ...] = ()
    extensions: tuple[Limit, ...] = ()
    deadline: Deadline | None = None
    deadline_unknown: bool = False
    exceeds_statutory: bool = False
    stages: tuple[StageState, ...] = ()
    nodes: tuple[NodeState, ...] = ()

    @property
    def suspended_since(self) -> datetime | None:
        if self.suspensions and self.suspensions[-1].end is None:
            return self.suspensions[-1].start
        return None

    @property
    def suspended(self) -> bool:
        return self.suspended_since is not None

    @property
    def completed_at(self) -> datetime | None:
        """When the case's own deadline stopped running: the decision (办结), or the end."""
        return self.decided_at or self.withdrawn_at or self.closed_at


@dataclass(kw_only=True)
class CaseFold:
    """Mutable state while replaying; frozen into a CaseState by :func:`project_fold`.

    A fold can be stored (:meth:`snapshot`) and continued later with newer events
    (:meth:`continues_with`), so ingest need not replay a long case from its
    first event each time one more arrives.
    """

    case_no: str
    status: CaseStatus = "pending"
    accepted: CaseAccepted | None = None
    applied: CaseApplied | None = None
    decided: CaseDecided | None = None
    pickup: CaseReadyForPickup | None = None
    picked_up_at: datetime | None = None
    closed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    suspensions: list[SuspensionRecord] = field(default_factory=list)
    extensions: list[Limit] = field(default_factory=list)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    last_at: datetime | None = None  # occurred_at of the latest event applied

    def apply(self, event: Event) -> None:
        at = event.occurred_at
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        match event:
            case CaseApplied():
                self.applied = event
                self._advance("applied")
            case CaseAccepted():
                self.accepted = event
                self._advance("accepted")
            case NodeStarted():
                self.nodes[event.node_id] = NodeState(
                    node_id=event.node_id,
                    name=event.name,
                    department=event.department,
                    assignee=event.assignee,
                    limit=event.limit.to_limit() if event.limit else None,
                    started_at=at,
                    completed_at=None,
                    outcome=None,
                    comment=None,
                    deadline=None,
                    deadline_unknown=False,
                )
            case NodeCompleted():
                node = self.nodes.get(event.node_id)
                if node is not None and node.completed_at is None:
                    self.nodes[event.node_id] = replace(
                        node, completed_at=at, outcome=event.outcome, comment=event.comment
                    )
            case CaseSuspended():
                if not self.suspensions or self.suspensions[-1].end is not None:
                    self.suspensions.append(
                        SuspensionRecord(start=at, end=None, reason=event.reason)
                    )
            case CaseResumed():
                if self.suspensions and self.suspensions[-1].end is None:
                    self.suspensions[-1] = replace(self.suspensions[-1], end=at)
            case CaseExtended():
                self.extensions.append(event.limit.to_limit())
            case CaseDecided():
                self.decided = event
                self._advance("decided")
            case CaseReadyForPickup():
                self.pickup = event
                self._advance("ready_for_pickup")
            case CasePickedUp():
                self.picked_up_at = at
                self._advance("picked_up")
            case CaseClosed():
                self.closed_at = self.closed_at or at
                self._advance("closed")
            case CaseWithdrawn():
                self.withdrawn_at = at
                self.status = "withdrawn"

    def continues_with(self, events: Sequence[Event]) -> bool:
        """Whether ``events`` all happened at or after what the fold has seen.

        Then applying them to the fold gives what a replay of every event would:
        events sort by (occurred_at, arrival) and these arrived last. An event that
        happened earlier must be replayed into its place.
        """
        return self.last_at is None or all(e.occurred_at >= self.last_at for e in events)

    def snapshot(self) -> dict[str, Any]:
        """The fold as plain JSON values (stored with the case; see :meth:`from_snapshot`).

        Nodes keep their department and their assignee's id and name, built by hand
        (cheaper than dumping the models; contacts are the people directory's).
        """
        return {
            "v": SNAPSHOT_VERSION,
            "case_no": self.case_no,
            "status": self.status,
            "accepted": _dump(self.accepted),
            "applied": _dump(self.applied),
            "decided": _dump(self.decided),
            "pickup": _dump(self.pickup),
            "picked_up_at": _iso(self.picked_up_at),
            "closed_at": _iso(self.closed_at),
            "withdrawn_at": _iso(self.withdrawn_at),
            "suspensions": [
                {"start": _iso(s.start), "end": _iso(s.end), "reason": s.reason}
                for s in self.suspensions
            ],
            "extensions": [{"value": x.value, "unit": x.unit.value} for x in self.extensions],
            "nodes": [
                {
                    "node_id": n.node_id,
                    "name": n.name,
                    "department": {"code": n.department.code, "name": n.department.name},
                    # Who, not how to reach them: contacts live in the people directory,
                    # and no projection reads them.
                    "assignee": {"id": n.assignee.id, "name": n.assignee.name},
                    "limit": {"value": n.limit.value, "unit": n.limit.unit.value}
                    if n.limit
                    else None,
                    "started_at": _iso(n.started_at),
                    "completed_at": _iso(n.completed_at),
                    "outcome": n.outcome,
                    "comment": n.comment,
                }
                for n in self.nodes.values()
            ],
            "last_at": _iso(self.last_at),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> CaseFold | None:
        """The fold :meth:`snapshot` stored; None for a snapshot of another version."""
        if data.get("v") != SNAPSHOT_VERSION:
            return None
        nodes = {}
        for n in data["nodes"]:
            nodes[n["node_id"]] = NodeState(
                node_id=n["node_id"],
                name=n["name"],
                department=Department.model_validate(n["department"]),
                assignee=Assignee.model_validate(n["assignee"]),
                limit=Limit(**n["limit"]) if n["limit"] else None,
                started_at=_instant(n["started_at"]),
                completed_at=_optional_instant(n["completed_at"]),
                outcome=n["outcome"],
                comment=n["comment"],
                deadline=None,
                deadline_unknown=False,
            )
        return cls(
            case_no=data["case_no"],
            status=data["status"],
            accepted=_load(data["accepted"], CaseAccepted),
            applied=_load(data["applied"], CaseApplied),
            decided=_load(data["decided"], CaseDecided),
            pickup=_load(data["pickup"], CaseReadyForPickup),
            picked_up_at=_optional_instant(data["picked_up_at"]),
            closed_at=_optional_instant(data["closed_at"]),
            withdrawn_at=_optional_instant(data["withdrawn_at"]),
            suspensions=[
                SuspensionRecord(
                    start=_instant(s["start"]), end=_optional_instant(s["end"]), reason=s["reason"]
                )
                for s in data["suspensions"]
            ],
            extensions=[Limit(**x) for x in data["extensions"]],
            nodes=nodes,
            last_at=_optional_instant(data["last_at"]),
        )

    def _advance(self, status: CaseStatus) -> None:
        # A case never goes back: a late-arriving earlier event must not undo a later state.
        if self.status != "withdrawn" and _RANK[status] >= _RANK[self.status]:
            self.status = status


SNAPSHOT_VERSION = 1
_E = TypeVar("_E", CaseAccepted, CaseApplied, CaseDecided, CaseReadyForPickup)


def _dump(event: Event | None) -> dict[str, Any] | None:
    return None if event is None else event.model_dump(mode="json")


def _load(data: Mapping[str, Any] | None, kind: type[_E]) -> _E | None:
    return None if data is None else kind.model_validate(data)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _optional_instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


_RANK: dict[CaseStatus, int] = {
    "pending": 0,
    "applied": 1,
    "accepted": 2,
    "decided": 3,
    "ready_for_pickup": 4,
    "picked_up": 5,
    "closed": 6,
    "withdrawn": 7,
}


def clip_suspensions(
    suspensions: Sequence[SuspensionRecord | Suspension], start: datetime, end: datetime | None
) -> list[Suspension]:
    """The parts of the case's suspensions that fall inside one node's open time."""
    return _clip(suspensions, start, end)


def _clip(
    suspensions: Sequence[SuspensionRecord | Suspension], start: datetime, end: datetime | None
) -> list[Suspension]:
    """The parts of the case's suspensions that fall inside one node's open time."""
    clipped = []
    for record in suspensions:
        if end is not None and record.start >= end:
            continue
        if record.end is not None and record.end <= start:
            continue
        s_end = record.end
        if end is not None and (s_end is None or s_end > end):
            s_end = end
        clipped.append(Suspension(start=max(record.start, start), end=s_end))
    return clipped


def _deadline(
    start: datetime,
    limit: Limit,
    calendar: WorkingCalendar,
    *,
    suspensions: Sequence[Suspension] = (),
    extensions: Sequence[Limit] = (),
    green_channel: bool = False,
    warn: WarnPolicy,
) -> Deadline | None:
    try:
        return compute_deadline(
            start,
            limit,
            calendar,
            suspensions=suspensions,
            extensions=extensions,
            green_channel=green_channel,
            warn=warn,
        )
    except CalendarYearUnknown:
        return None


def project_case(
    case_no: str,
    events: Sequence[Event],
    *,
    calendar: WorkingCalendar,
    rules_for: RulesFor,
    query_code: str | None = None,
) -> CaseState:
    """Replay ``events`` (in arrival order) into the case's current state and deadlines.

    ``query_code`` is the one Cuiban generated on first acceptance; an acceptance
    event carrying its own code wins.
    """
    return project_fold(
        fold_events(CaseFold(case_no=case_no), events),
        calendar=calendar,
        rules_for=rules_for,
        query_code=query_code,
    )


def fold_events(fold: CaseFold, events: Sequence[Event]) -> CaseFold:
    """Apply ``events`` to ``fold`` in the order they happened (arrival order breaks ties)."""
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].occurred_at, pair[0]))
    for _, event in ordered:
        fold.apply(event)
    return fold


def project_fold(
    fold: CaseFold,
    *,
    calendar: WorkingCalendar,
    rules_for: RulesFor,
    query_code: str | None = None,
) -> CaseState:
    """The case a fold describes, with its deadlines computed on ``calendar``."""
    case_no = fold.case_no
    accepted = fold.accepted
    matter_code = (
        accepted.matter.code if accepted else fold.applied.matter.code if fold.applied else None
    )
    rules = rules_for(matter_code)
    suspensions = tuple(fold.suspensions)
    case_suspensions = [Suspension(start=s.start, end=s.end) for s in suspensions]

    deadline: Deadline | None = None
    deadline_unknown = False
    flagged = False
    limit = accepted.limit.to_limit() if accepted else None
    if accepted and limit:
        deadline = _deadline(
            accepted.occurred_at,
            limit,
            calendar,
            suspensions=case_suspensions,
            extensions=fold.extensions,
            green_channel=accepted.green_channel,
            warn=rules.warn,
        )
        deadline_unknown = deadline is None
        if not rules.governed_by_other_law and deadline is not None:
            flagged = exceeds_statutory(
                accepted.occurred_at,
                limit,
                calendar,
                extensions=fold.extensions,
                green_channel=accepted.green_channel,
            )

    nodes = []
    for node in fold.nodes.values():
        node_deadline = deadline
        node_unknown = deadline_unknown
        if node.limit is not None:
            node_deadline = _deadline(
                node.started_at,
                node.limit,
                calendar,
                suspensions=_clip(suspensions, node.started_at, node.completed_at),
                warn=rules.warn,
            )
            node_unknown = node_deadline is None
        nodes.append(_with_deadline(node, node_deadline, node_unknown))

    applied_at = fold.applied.occurred_at if fold.applied else None
    accepted_at = accepted.occurred_at if accepted else None
    decided_at = fold.decided.occurred_at if fold.decided else None
    ready_at = fold.pickup.occurred_at if fold.pickup else None
    closed_at = fold.closed_at or fold.picked_up_at or fold.withdrawn_at
    stages = _stages(
        calendar,
        rules,
        applied_at=applied_at,
        accepted_at=accepted_at,
        decided_at=decided_at,
        decision=fold.decided.decision if fold.decided else None,
        ready_at=ready_at,
        picked_up_at=fold.picked_up_at,
        closed_at=closed_at,
        withdrawn_at=fold.withdrawn_at,
        deadline=deadline,
        deadline_unknown=deadline_unknown,
    )
    return CaseState(
        case_no=case_no,
        status=fold.status,
        matter=accepted.matter if accepted else fold.applied.matter if fold.applied else None,
        department=(
            accepted.department if accepted else fold.applied.department if fold.applied else None
        ),
        applicant=(
            accepted.applicant if accepted else fold.applied.applicant if fold.applied else None
        ),
        limit=limit,
        green_channel=accepted.green_channel if accepted else False,
        co_departments=accepted.co_departments if accepted else (),
        query_code=(accepted.query_code if accepted and accepted.query_code else query_code),
        project=accepted.project if accepted else None,
        applied_at=applied_at,
        accepted_at=accepted_at,
        decided_at=decided_at,
        decision=fold.decided.decision if fold.decided else None,
        ready_at=ready_at,
        pickup=fold.pickup,
        picked_up_at=fold.picked_up_at,
        closed_at=closed_at,
        withdrawn_at=fold.withdrawn_at,
        suspensions=suspensions,
        extensions=tuple(fold.extensions),
        deadline=deadline,
        deadline_unknown=deadline_unknown,
        exceeds_statutory=flagged,
        nodes=tuple(sorted(nodes, key=lambda n: (n.started_at, n.node_id))),
        stages=stages,
    )


def _with_deadline(node: NodeState, deadline: Deadline | None, unknown: bool) -> NodeState:
    # Spelled out rather than dataclasses.replace: this runs for every node of every case.
    return NodeState(
        node_id=node.node_id,
        name=node.name,
        department=node.department,
        assignee=node.assignee,
        limit=node.limit,
        started_at=node.started_at,
        completed_at=node.completed_at,
        outcome=node.outcome,
        comment=node.comment,
        deadline=deadline,
        deadline_unknown=unknown,
    )


def _stages(
    calendar: WorkingCalendar,
    rules: MatterRules,
    *,
    applied_at: datetime | None,
    accepted_at: datetime | None,
    decided_at: datetime | None,
    decision: str | None,
    ready_at: datetime | None,
    picked_up_at: datetime | None,
    closed_at: datetime | None,
    withdrawn_at: datetime | None,
    deadline: Deadline | None,
    deadline_unknown: bool,
) -> tuple[StageState, ...]:
    """The statutory stages of 行政许可法, each with its own deadline."""
    # As CaseState.completed_at: the decision (办结), or the end.
    completed_at = decided_at or withdrawn_at or closed_at
    stages = []
    if applied_at is not None:
        # Art. 32: decide on acceptance within 5 working days of the application.
        acceptance = _deadline(
            applied_at, STATUTORY_LIMITS[Stage.ACCEPTANCE], calendar, warn=rules.warn
        )
        stages.append(
            StageState(
                stage=Stage.ACCEPTANCE,
                start=applied_at,
                deadline=acceptance,
                completed_at=accepted_at or withdrawn_at,
                deadline_unknown=acceptance is None,
            )
        )
    if accepted_at is not None:
        # Art. 42: the decision within the case's own limit (suspensions and extensions apply).
        stages.append(
            StageState(
                stage=Stage.DECISION,
                start=accepted_at,
                deadline=deadline,
                completed_at=completed_at,
                deadline_unknown=deadline_unknown,
            )
        )
    if decided_at is not None and decision == "approved":
        # Art. 44: issue the permit within 10 working days of the decision.
        issue = _deadline(decided_at, STATUTORY_LIMITS[Stage.ISSUE], calendar, warn=rules.warn)
        stages.append(
            StageState(
                stage=Stage.ISSUE,
                start=decided_at,
                deadline=issue,
                completed_at=ready_at or picked_up_at or closed_at,
                deadline_unknown=issue is None,
            )
        )
    return tuple(stages)
