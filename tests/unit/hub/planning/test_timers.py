"""The writes a timer re-plan makes leave exactly the wanted timers pending, nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.planning.timers import PlannedTimer, timer_writes

T0 = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
KINDS = ("node_due_soon", "node_overdue")
instants = st.integers(min_value=0, max_value=3).map(lambda h: T0 + timedelta(hours=h))
slots = st.tuples(st.sampled_from(("A", "B")), st.sampled_from(("", "n1")), st.sampled_from(KINDS))


@st.composite
def stored_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Pending and set-aside rows, one per (case, node, kind, step, version) as the table's key."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for number, (case_no, node_id, kind) in enumerate(draw(st.lists(slots, max_size=6))):
        version = draw(st.integers(min_value=0, max_value=2))
        key = (case_no, node_id, kind, 0, version)
        rows[key] = {
            "id": number + 1,
            "case_no": case_no,
            "node_id": node_id,
            "kind": kind,
            "step": 0,
            "deadline_version": version,
            "fire_at": draw(instants),
            "status": draw(st.sampled_from(("pending", "pending", "set_aside"))),
        }
    return list(rows.values())


@st.composite
def wanted_timers(draw: st.DrawFn) -> list[PlannedTimer]:
    """What a case should have: at most one version per (case, node, kind)."""
    found = {}
    for case_no, node_id, kind in draw(st.lists(slots, max_size=6)):
        found[(case_no, node_id, kind)] = PlannedTimer(
            kind=kind,
            case_no=case_no,
            node_id=node_id,
            step=0,
            deadline_version=draw(st.integers(min_value=0, max_value=2)),
            fire_at=draw(instants),
        )
    return list(found.values())


def _apply(rows: list[dict[str, Any]], wanted: list[PlannedTimer], move: bool) -> set[Any]:
    """The table after the writes, as the SQL does them; returns the pending timers."""
    table = {r["id"]: dict(r) for r in rows}
    writes = timer_writes(rows, wanted, move_versions=move)
    for timer_id in writes.cancel:
        table[timer_id]["status"] = "cancelled"
    for timer_id, version, fire_at in writes.move:
        assert table[timer_id]["status"] == "pending"
        table[timer_id] |= {"deadline_version": version, "fire_at": fire_at}
    for timer_id, fire_at in writes.retime:
        table[timer_id]["fire_at"] = fire_at
    by_key = {
        (r["case_no"], r["node_id"], r["kind"], r["step"], r["deadline_version"]): r
        for r in table.values()
    }
    assert len(by_key) == len(table), "two rows share the table's unique key"
    for t in writes.new:  # upsert: a cancelled or set-aside row comes back
        key = (t.case_no, t.node_id, t.kind, t.step, t.deadline_version)
        row = by_key.get(key)
        assert row is None or row["status"] in ("cancelled", "set_aside")
        by_key[key] = {"status": "pending", "fire_at": t.fire_at}
    return {(k, r["fire_at"]) for k, r in by_key.items() if r["status"] == "pending"}


@given(stored_rows(), wanted_timers(), st.booleans())
def test_writes_leave_exactly_the_wanted_timers_pending(
    rows: list[dict[str, Any]], wanted: list[PlannedTimer], move: bool
) -> None:
    """Cancelled, moved, re-timed and new rows: the pending ones are the wanted ones, at
    their instants, whether a moved deadline moves its rows in place or replaces them."""
    expected = {
        ((t.case_no, t.node_id, t.kind, t.step, t.deadline_version), t.fire_at) for t in wanted
    }
    assert _apply(rows, wanted, move) == expected


def test_a_re_plan_that_moved_nothing_writes_nothing() -> None:
    """Pending timers that are already what is wanted are left alone."""
    rows = [
        {"id": 1, "case_no": "A", "node_id": "", "kind": "case_overdue", "step": 0,
         "deadline_version": 2, "fire_at": T0, "status": "pending"},
    ]  # fmt: skip
    wanted = [PlannedTimer(kind="case_overdue", case_no="A", node_id="", step=0,
                           deadline_version=2, fire_at=T0)]  # fmt: skip
    writes = timer_writes(rows, wanted, move_versions=True)
    assert (writes.cancel, writes.move, writes.retime, writes.new) == ([], [], [], [])


def test_a_set_aside_row_of_the_wanted_version_is_revived_not_collided_with() -> None:
    """A stale pending row is not moved onto a version a set-aside row already holds."""
    row = {"case_no": "A", "node_id": "n1", "kind": "node_overdue", "step": 0}
    rows = [
        row | {"id": 1, "deadline_version": 1, "fire_at": T0, "status": "pending"},
        row | {"id": 2, "deadline_version": 2, "fire_at": T0, "status": "set_aside"},
    ]
    wanted = [PlannedTimer(kind="node_overdue", case_no="A", node_id="n1", step=0,
                           deadline_version=2, fire_at=T0)]  # fmt: skip
    assert _apply(rows, wanted, move=True) == {(("A", "n1", "node_overdue", 0, 2), T0)}
    writes = timer_writes(rows, wanted, move_versions=True)
    assert (writes.cancel, writes.move) == ([1], [])
