"""The supervision pages' view code, without a database: which cases are listed, and how."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.pages.supervise.views import complaint, project_case, warning_lists

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


def _case(case_no: str, *, due_in_hours: float, **extra: Any) -> dict[str, Any]:
    due = NOW + timedelta(hours=due_in_hours)
    return {
        "case_no": case_no,
        "department_code": "SCJG",
        "department_name": None,
        "matter_code": "SC-101",
        "matter_name": "食品经营许可",
        "due_at": due,
        "warn_at": due - timedelta(hours=24),
        "due_date": due.astimezone(TZ).date(),
        "completed_at": None,
        "suspended_since": None,
        "accepted_at": NOW - timedelta(days=3),
        "urges": 1,
        "status": "in_progress",
        "current_node": "审查",
        **extra,
    }


def test_only_yellow_and_red_cases_are_listed_each_under_its_level() -> None:
    """An overdue case is red, one due within a day yellow, one due next week not listed."""
    rows = [
        _case("C-red", due_in_hours=-1),
        _case("C-yellow", due_in_hours=5),
        _case("C-green", due_in_hours=24 * 7),
        _case("C-done", due_in_hours=-1, completed_at=NOW - timedelta(hours=2)),
    ]
    lists = warning_lists(rows, now=NOW)
    assert [w["case_no"] for w in lists["red"]] == ["C-red"]
    assert [w["case_no"] for w in lists["yellow"]] == ["C-yellow"]
    assert lists["red"][0]["department"] == "SCJG"  # the code when no name is on record


def test_a_complaint_shows_its_beijing_time() -> None:
    """The time a complaint came in reads in Asia/Shanghai, to the minute."""
    row = {"created_at": NOW, "case_no": "C-1", "matter": "食品经营许可", "content": "太慢"}
    assert complaint(row, TZ)["at"] == "2026-03-09 10:00"


def test_a_project_case_says_suspended_and_unknown_deadlines_in_words() -> None:
    """A suspended open case says 中止; a case without a deadline says 期限未知."""
    suspended = project_case(_case("C-1", due_in_hours=48, suspended_since=NOW), now=NOW, tz=TZ)
    assert suspended["status"].endswith("（中止）")
    assert suspended["accepted"] == "2026-03-06"
    unknown = project_case(_case("C-2", due_in_hours=0, due_at=None, warn_at=None), now=NOW, tz=TZ)
    assert unknown["level_text"] == "期限未知"
    assert unknown["level"] == ""
