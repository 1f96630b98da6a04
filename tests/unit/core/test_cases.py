"""The case projection: a pure fold over events in the order they happened."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import WorkingCalendar
from core.cases import CaseFold, MatterRules, fold_events, project_case, project_fold
from core.events import EVENT_ADAPTER, Event

CALENDAR = WorkingCalendar.from_year_files(
    p.read_text("utf-8")
    for p in sorted((Path(__file__).parents[3] / "config" / "calendars").glob("*.toml"))
)
T0 = datetime.fromisoformat("2026-03-02T10:00:00+08:00")


def rules(_: str | None) -> MatterRules:
    return MatterRules()


def event(kind: str, hours: float, **fields: Any) -> Event:
    body = {
        "event_id": f"{kind}-{hours}",
        "type": kind,
        "occurred_at": (T0 + timedelta(hours=hours)).isoformat(),
        "case_no": "P-1",
        **fields,
    }
    return EVENT_ADAPTER.validate_python(body)


ACCEPTED = dict(
    matter={"code": "M", "name": "许可"},
    department={"code": "D", "name": "局"},
    applicant={"name": "张三", "mobile": "13812345678"},
    limit={"value": 10, "unit": "working_days"},
)

HISTORY = [
    event("case.accepted", 0, **ACCEPTED),
    event(
        "node.started",
        1,
        node_id="n1",
        name="初审",
        department="D",
        assignee={"id": "a"},
        limit={"value": 3, "unit": "working_days"},
    ),
    event("case.suspended", 30, reason="expert_review"),
    event("case.resumed", 150),
    event("node.completed", 160, node_id="n1", outcome="pass"),
    event(
        "node.started",
        161,
        node_id="n2",
        name="复审",
        department="D",
        assignee={"id": "b"},
        limit={"value": 2, "unit": "working_days"},
    ),
    event("case.extended", 170, limit={"value": 5, "unit": "working_days"}, approved_by="局长"),
    event("case.decided", 400, decision="approved"),
    event("case.ready_for_pickup", 420, location="3号窗口"),
    event("case.picked_up", 440),
]


def test_history_projects_to_the_expected_case() -> None:
    """A full history gives the status, suspensions, extensions and node deadlines it implies."""
    state = project_case("P-1", HISTORY, calendar=CALENDAR, rules_for=rules, query_code="123456")
    assert state.status == "picked_up"
    assert not state.suspended
    assert [(s.start, s.end) for s in state.suspensions] == [
        (T0 + timedelta(hours=30), T0 + timedelta(hours=150))
    ]
    assert state.deadline is not None
    # 10 working days → 16 March; suspended 3 March 16:00 → 8 March 16:00: [3, 8) = 4 working
    # days → 20 March; extended 5 → 27 March.
    assert state.deadline.due_date.isoformat() == "2026-03-27"
    n1, n2 = state.nodes
    # Due 5 March, moved by the same 4 suspended working days.
    assert n1.deadline is not None and n1.deadline.due_date.isoformat() == "2026-03-11"
    assert n2.deadline is not None and n2.deadline.due_date.isoformat() == "2026-03-11"
    assert state.closed_at == T0 + timedelta(hours=440)
    assert [s.stage for s in state.stages] == ["decision", "issue"]
    assert state.query_code == "123456"


@settings(max_examples=60, deadline=None)
@given(st.permutations(HISTORY))
def test_arrival_order_never_changes_the_case(arrival: list[Event]) -> None:
    """Events applied by occurred_at: any arrival order projects to the same case."""
    expected = project_case("P-1", HISTORY, calendar=CALENDAR, rules_for=rules)
    assert project_case("P-1", arrival, calendar=CALENDAR, rules_for=rules) == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=len(HISTORY)))
def test_a_case_never_goes_back(prefix: int) -> None:
    """A later lifecycle state is never undone by an earlier event arriving afterwards."""
    order = ["pending", "accepted", "decided", "ready_for_pickup", "picked_up"]
    seen = [
        project_case("P-1", HISTORY[:n], calendar=CALENDAR, rules_for=rules).status
        for n in range(1, prefix + 1)
    ]
    ranks = [order.index(s) for s in seen]
    assert ranks == sorted(ranks)


def test_completion_for_an_unknown_node_is_kept_but_changes_nothing() -> None:
    """A completion for a node that never started does not invent the node."""
    state = project_case(
        "P-1",
        [HISTORY[0], event("node.completed", 5, node_id="ghost", outcome="pass")],
        calendar=CALENDAR,
        rules_for=rules,
    )
    assert state.nodes == ()


def test_resumption_without_suspension_is_ignored() -> None:
    """A stray case.resumed does not create a suspension."""
    state = project_case(
        "P-1", [HISTORY[0], event("case.resumed", 5)], calendar=CALENDAR, rules_for=rules
    )
    assert state.suspensions == ()
    assert state.deadline is not None and state.deadline.due_date.isoformat() == "2026-03-16"


def _vocabulary(kind: str, index: int, hours: int) -> Event:
    extra: dict[str, Any] = {
        "case.accepted": ACCEPTED,
        "case.applied": {k: ACCEPTED[k] for k in ("matter", "department", "applicant")},
        "node.started": {
            "node_id": f"n{index % 2}",
            "name": "审查",
            "department": "D",
            "assignee": {"id": f"a{index % 3}"},
            "limit": {"value": 1 + index % 4, "unit": ("working_days", "hours")[index % 2]},
        },
        "node.completed": {"node_id": f"n{index % 2}", "outcome": "pass"},
        "case.suspended": {"reason": "testing"},
        "case.extended": {"limit": {"value": 2, "unit": "working_days"}, "approved_by": "局长"},
        "case.decided": {"decision": "approved"},
        "case.ready_for_pickup": {"location": "3号窗口", "documents": ["身份证"]},
    }.get(kind, {})
    body = {
        "event_id": f"{kind}-{index}",
        "type": kind,
        "occurred_at": (T0 + timedelta(hours=hours)).isoformat(),
        "case_no": "P-1",
        **extra,
    }
    return EVENT_ADAPTER.validate_python(body)


KINDS = (
    "case.applied", "case.accepted", "node.started", "node.completed", "case.suspended",
    "case.resumed", "case.extended", "case.decided", "case.ready_for_pickup",
    "case.picked_up", "case.closed", "case.withdrawn",
)  # fmt: skip


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[Event], int]:
    """Events in the order they arrive (sometimes in time order, sometimes not), and a cut."""
    steps = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 400)), max_size=14))
    if draw(st.booleans()):
        steps.sort(key=lambda step: step[1])  # the usual case: events arrive as they happen
    events = [_vocabulary(kind, i, hours) for i, (kind, hours) in enumerate(steps)]
    return events, draw(st.integers(0, len(events)))


@settings(max_examples=300)
@given(arrivals())
def test_a_stored_fold_continued_equals_a_full_replay(arrival: tuple[list[Event], int]) -> None:
    """Ingest's two paths agree: continue the stored fold, or replay all when one came late."""
    events, cut = arrival
    stored = fold_events(CaseFold(case_no="P-1"), events[:cut]).snapshot()
    fold = CaseFold.from_snapshot(json.loads(json.dumps(stored)))
    assert fold is not None
    later = events[cut:]
    if fold.continues_with(later):
        fold = fold_events(fold, later)
    else:
        fold = fold_events(CaseFold(case_no="P-1"), events)
    incremental = project_fold(fold, calendar=CALENDAR, rules_for=rules)
    assert incremental == project_case("P-1", events, calendar=CALENDAR, rules_for=rules)


def test_an_event_that_happened_earlier_does_not_continue_a_fold() -> None:
    """A late event before the latest applied one means a replay, not a continuation."""
    fold = fold_events(CaseFold(case_no="P-1"), HISTORY[:4])
    assert fold.continues_with(HISTORY[4:])
    assert not fold.continues_with([HISTORY[2]])
    assert CaseFold.from_snapshot({"v": 0}) is None
