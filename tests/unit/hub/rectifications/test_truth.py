"""Rectification reminders re-checked as they leave: verified, closed or already due."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from core.notices import NoticeKind
from hub.rectifications.model import Rectification
from hub.rectifications.truth import rectification_ids, untrue_because

OPENED = datetime.fromisoformat("2026-09-29T10:05:00+08:00")
RECT = Rectification(
    id=7,
    case_no="L-1",
    department_code="SCJG",
    department_name="市场监督管理局",
    matter_name="食品经营许可",
    rating=1,
    comment=None,
    source="sms",
    status="open",
    head="p-head",
    opened_at=OPENED,
    verify_due_date=date(2026, 9, 30),
    verify_due_at=datetime.fromisoformat("2026-09-30T23:59:59+08:00"),
    verify_warn_at=OPENED,
    rectify_due_date=date(2026, 10, 26),
    rectify_due_at=datetime.fromisoformat("2026-10-26T23:59:59+08:00"),
    rectify_warn_at=datetime.fromisoformat("2026-10-23T09:00:00+08:00"),
    verified_at=None,
    verified_by=None,
    finding=None,
    closed_at=None,
    closed_by=None,
    outcome=None,
    reply=None,
)
VERIFIED = replace(RECT, status="verified", verified_at=OPENED)
CLOSED = replace(RECT, status="closed", closed_at=OPENED, outcome="rectified", reply="好")
OVERDUE, SOON = NoticeKind.RECTIFICATION_OVERDUE, NoticeKind.RECTIFICATION_DUE_SOON
BEFORE = datetime.fromisoformat("2026-10-23T12:00:00+08:00")
AFTER = datetime.fromisoformat("2026-10-27T09:00:00+08:00")


@pytest.mark.parametrize(
    ("kind", "step", "rect", "now", "reason"),
    [
        (OVERDUE, "verify", RECT, AFTER, None),
        (OVERDUE, "verify", VERIFIED, AFTER, "the rectification was verified"),
        (OVERDUE, "answer", VERIFIED, AFTER, None),
        (OVERDUE, "answer", CLOSED, AFTER, "the rectification was closed"),
        (SOON, "answer", RECT, BEFORE, None),
        (SOON, "answer", VERIFIED, AFTER, "already due: the overdue notice speaks now"),
        (SOON, "answer", CLOSED, BEFORE, "the rectification was closed"),
    ],
)
def test_a_reminder_is_untrue_once_its_step_was_taken_or_it_is_due(
    kind: NoticeKind, step: str, rect: Rectification, now: datetime, reason: str | None
) -> None:
    """Each row: what the reminder chases, the rectification now, and why it no longer holds."""
    item = {"rectification_id": 7, "rectification_step": step}
    assert untrue_because(kind, item, {7: rect}, now=now) == reason


def test_an_unknown_rectification_contradicts_nothing() -> None:
    """A reminder naming no rectification, or one not found, is left to go."""
    assert untrue_because(OVERDUE, {"case_no": "L-1"}, {7: CLOSED}, now=AFTER) is None
    assert untrue_because(OVERDUE, {"rectification_id": 8}, {7: CLOSED}, now=AFTER) is None


def test_a_merged_reminder_names_each_of_its_rectifications() -> None:
    """The ids come from each merged part, or from the context itself when not merged."""
    merged = {"merged_items": [{"rectification_id": 7}, {"rectification_id": "9"}, {}]}
    assert rectification_ids(merged) == [7, 9]
    assert rectification_ids({"rectification_id": 3}) == [3]
