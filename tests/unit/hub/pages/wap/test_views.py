"""The WAP pages' view code, without a database: words, order and masks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from hub.pages.wap.views import event_text, inbox_nodes, inbox_notice, timeline

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


def _node(node_id: str, *, due_in_hours: float, warn_hours_before: float = 24) -> dict[str, Any]:
    due = NOW + timedelta(hours=due_in_hours)
    return {
        "case_no": f"C-{node_id}",
        "node_id": node_id,
        "matter_name": "食品经营许可",
        "name": "审查",
        "due_at": due,
        "warn_at": due - timedelta(hours=warn_hours_before),
        "due_date": due.astimezone(TZ).date(),
        "completed_at": None,
        "suspended_since": None,
        "urges": 0,
        "covering_for": None,
    }


def test_an_applicant_reads_events_in_words() -> None:
    """Event types become sentences; a limit is in working days; unknown types are hidden."""
    accepted = event_text("case.accepted", {"limit": {"value": 20, "unit": "working_days"}}, {})
    assert accepted == "已受理，办理时限20个工作日"
    assert event_text("case.suspended", {"reason": "hearing"}, {}) == "办理中止：听证"
    done = event_text("node.completed", {"node_id": "n1", "outcome": "pass"}, {"n1": "初审"})
    assert done == "“初审”环节办理完成（通过）"
    assert event_text("case.reprojected", {}, {}) is None


def test_the_timeline_is_oldest_first_with_events_before_notices_at_one_instant() -> None:
    """An SMS written in the same instant as its event comes right after it."""
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    events = [
        {"type": "case.resumed", "payload": {}, "occurred_at": at + timedelta(days=3)},
        {"type": "case.applied", "payload": {}, "occurred_at": at},
    ]
    notices = [
        {"kind": "case_accepted", "channel": "sms", "status": "delivered", "created_at": at},
        {"kind": "no_such_kind", "channel": "sms", "status": "sent", "created_at": at},
    ]
    items = timeline(events, notices, {}, tz=TZ)
    assert [i["text"] for i in items] == ["申请已提交", "短信受理通知已送达", "恢复办理"]
    assert items[0]["when"] == "2026-03-02 10:00"
    assert [i["kind"] for i in items] == ["event", "notice", "event"]


def test_the_inbox_lists_red_then_yellow_then_green() -> None:
    """Overdue first, then due soon, then the rest, each by due time."""
    rows = [
        _node("green-late", due_in_hours=200),
        _node("green-early", due_in_hours=100),
        _node("red", due_in_hours=-5),
        _node("yellow", due_in_hours=5),
    ]
    order = [n["case_no"] for n in inbox_nodes(rows, now=NOW)]
    assert order == ["C-red", "C-yellow", "C-green-early", "C-green-late"]


@given(st.lists(st.floats(min_value=-500, max_value=500), min_size=1, max_size=12))
def test_the_inbox_order_never_puts_a_later_deadline_of_a_level_first(hours: list[float]) -> None:
    """Within one level, the nearer deadline always comes first."""
    rows = [_node(str(i), due_in_hours=h) for i, h in enumerate(hours)]
    shown = inbox_nodes(rows, now=NOW)
    due = {f"C-{i}": NOW + timedelta(hours=h) for i, h in enumerate(hours)}
    for before, after in itertools.pairwise(shown):
        if before["level"] == after["level"]:
            assert due[before["case_no"]] <= due[after["case_no"]]


def test_an_inbox_notice_masks_mobiles_and_drops_the_link_back_to_the_inbox() -> None:
    """The reader is in the inbox already; phone numbers never show in full."""
    row = {
        "id": 7,
        "kind": "urge",
        "channel": "sms",
        "subject": None,
        "body": "请尽快办理，申请人13812345678来电催问。查看：https://zw.example.cn/wap/inbox/abc.def",
        "case_no": "C-1",
        "created_at": NOW,
        "read_at": None,
    }
    view = inbox_notice(row, tz=TZ)
    assert view["body"] == "请尽快办理，申请人138****5678来电催问。"
    assert view["title"] == "催办"
    assert view["read"] is False
