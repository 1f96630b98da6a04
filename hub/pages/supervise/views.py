"""What the ``/supervise/`` pages show of a row: pure, so it is tested without a database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from core.levels import LEVEL_WORDS, Level
from hub.api.views import row_level
from hub.notices.words import status_words

__all__ = ["complaint", "day", "project_case", "warning_lists"]


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
