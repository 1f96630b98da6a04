"""Whether a reminder is still true at send time: the rules, case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.notices import NoticeKind
from hub.notices.truth import untrue_because

NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
OPEN_CASE = {
    "withdrawn_at": None,
    "closed_at": None,
    "suspended_since": None,
    "completed_at": None,
    "due_at": NOW + timedelta(days=5),
}
K = NoticeKind


def node(*, due_in: timedelta, done: bool = False) -> dict[str, object]:
    return {"due_at": NOW + due_in, "completed_at": NOW if done else None}


@pytest.mark.parametrize(
    ("kind", "case", "node_row", "expected"),
    [
        (K.NODE_OVERDUE, OPEN_CASE, node(due_in=-timedelta(hours=1)), None),
        (K.NODE_OVERDUE, OPEN_CASE, node(due_in=-timedelta(hours=1), done=True), "completed"),
        (K.NODE_OVERDUE, OPEN_CASE, node(due_in=timedelta(days=2)), "no longer overdue"),
        (K.NODE_DUE_SOON, OPEN_CASE, node(due_in=timedelta(hours=3)), None),
        (K.NODE_DUE_SOON, OPEN_CASE, node(due_in=timedelta(0)), "already due"),
        (K.NODE_DUE_SOON, OPEN_CASE | {"suspended_since": NOW}, node(due_in=timedelta(1)), "susp"),
        (K.URGE, OPEN_CASE | {"closed_at": NOW}, node(due_in=timedelta(days=1)), "closed"),
        (K.URGE, OPEN_CASE, None, "gone"),
        (K.URGE, None, None, None),  # a case the store does not know: nothing contradicts it
        (K.PICKUP_NOTICE, None, None, None),  # not a reminder: not re-checked
    ],
)
def test_untrue_because(
    kind: NoticeKind,
    case: dict[str, object] | None,
    node_row: dict[str, object] | None,
    expected: str | None,
) -> None:
    """A completed node, a suspended/closed case or a moved deadline makes a reminder untrue."""
    reason = untrue_because(kind, case, node_row, node_id="n1", now=NOW)
    assert (reason is None) == (expected is None)
    assert expected is None or expected in (reason or "")


def test_case_level_alerts_look_at_the_case_deadline() -> None:
    """A case's yellow alert is untrue once the case is past due, and when it is completed."""
    past = OPEN_CASE | {"due_at": NOW - timedelta(minutes=1)}
    assert untrue_because(K.CASE_DUE_SOON, OPEN_CASE, None, node_id="", now=NOW) is None
    assert "already due" in (untrue_because(K.CASE_DUE_SOON, past, None, node_id="", now=NOW) or "")
    done = OPEN_CASE | {"completed_at": NOW}
    assert "completed" in (untrue_because(K.CASE_OVERDUE, done, None, node_id="", now=NOW) or "")
