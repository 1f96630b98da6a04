"""What the ``/supervise/`` pages show of a row: pure, so it is tested without a database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from core.levels import LEVEL_WORDS, Level
from hub.api.views import row_level
from hub.notices.words import status_words

__all__ = ["access_log_row", "complaint", "day", "project_case", "warning_lists"]


def day(instant: datetime | None, tz: tzinfo) -> str | None:
    """The local date of ``instant``, as a page prints it."""
    return instant.astimezone(tz).strftime("%Y-%m-%d") if instant else None


def warning_lists(
    rows: Iterable[Mapping[str, Any]], *, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The live lists: open cases at red and at yellow ``now``; others are left out."""
    warnings: dict[str, list[dict[str, Any]]] = {"red": [], "yellow": []}
    for row in rows:
        level = row_level(row, now=now)
        if level in (Level.RED, Level.YELLOW):
            warnings[str(level)].append(
                {
                    "department": row["department_name"] or row["department_code"],
                    "case_no": row["case_no"],
                    "matter": row["matter_name"] or row["matter_code"],
                    "due_date": row["due_date"],
                    "suspended": row["suspended_since"] is not None,
                    "urges": row["urges"],
                }
            )
    return warnings


def complaint(row: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """A complaint received, with its local time to the minute."""
    return {
        "at": row["created_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "case_no": row["case_no"],
        "matter": row["matter"],
        "content": row["content"],
    }


def project_case(row: Mapping[str, Any], *, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """One approval of a project: where it stands, its dates and its level in words."""
    level = row_level(row, now=now)
    suspended = row["suspended_since"] and not row["completed_at"]
    return {
        "department": row["department_name"] or row["department_code"],
        "matter": row["matter_name"] or row["matter_code"],
        "case_no": row["case_no"],
        "status": status_words(row["status"]) + ("（中止）" if suspended else ""),
        "node": row["current_node"],
        "accepted": day(row["accepted_at"], tz),
        "due_date": row["due_date"],
        "completed": day(row["completed_at"], tz),
        "level": str(level) if level else "",
        "level_text": LEVEL_WORDS[level] if level else "期限未知",
    }


#: How many case numbers a read of the message log names on the page before "等N件".
CASES_SHOWN = 5
_VIA = {"api": "接口", "wap": "手机页面"}
_PAGES = {"index": "电子监察首页（投诉内容）"}
_LISTS = {
    "messages.read": "消息记录",
    "inbound_sms.read": "上行短信",
    "rectifications.read": "差评整改",
}


def access_log_row(row: Mapping[str, Any], detail: Mapping[str, Any], tz: tzinfo) -> dict[str, str]:
    """One line of the access log: a read of a case, or of the message log (its cases)."""
    via = str(detail.get("via") or "")
    if isinstance(detail.get("cases"), Mapping):  # one request that showed many cases
        cases = sorted(c for numbers in detail["cases"].values() for c in numbers)
        what = "、".join(cases[:CASES_SHOWN])
        if len(cases) > CASES_SHOWN:
            what += f"等{len(cases)}件"
        if row["action"] == "messages.read":
            what += f"（消息记录 {detail.get('messages', 0)} 条）"
        if row["action"] in _LISTS:
            via = f"{_LISTS[row['action']]}（{_VIA.get(via, via)}）"
        else:
            via = _PAGES.get(str(detail.get("page")), "电子监察页面")
        department = "、".join(detail.get("departments") or [])
    else:
        what = str(row["subject"])
        department = str(detail.get("department") or "")
        via = _VIA.get(via, via)
    return {
        "at": row["at"].astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
        "case_no": what,
        "department": department,
        "via": via,
        "actor": str(row["actor"]),
        "role": str(row["actor_role"]),
    }
