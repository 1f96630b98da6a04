"""Levels (green → yellow card → red card → done) and the closing verdict, at a given instant."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from core.deadlines import DEFAULT_TZ, Deadline, require_aware

__all__ = [
    "LEVEL_WORDS",
    "VERDICT_WORDS",
    "Level",
    "Verdict",
    "closing_verdict",
    "level_at",
    "level_for",
    "verdict_for",
]


class Level(StrEnum):
    """How a node or case stands against its deadline."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    DONE = "done"


#: Words for pages and notices: colour alone must not carry the meaning.
LEVEL_WORDS: Mapping[Level, str] = MappingProxyType(
    {
        Level.GREEN: "正常",
        Level.YELLOW: "黄牌预警",
        Level.RED: "红牌超期",
        Level.DONE: "已办结",
    }
)

Verdict = Literal["early", "on_time", "late"]

#: Supervision-table words for each verdict (提前 / 按时 / 超期).
VERDICT_WORDS: Mapping[str, str] = MappingProxyType(
    {"early": "提前办结", "on_time": "按时办结", "late": "超期办结"}
)


def level_at(
    deadline: Deadline,
    *,
    now: datetime,
    completed_at: datetime | None = None,
    suspended_since: datetime | None = None,
) -> Level:
    """The level at ``now``: green before warn_at, yellow from it, red strictly after due_at.

    Done once ``completed_at`` has passed. While suspended the clock stops (行政许可法
    Art. 45: suspended time is not counted), so the level is the one at ``suspended_since``.
    """
    return level_for(
        warn_at=deadline.warn_at,
        due_at=deadline.due_at,
        now=now,
        completed_at=completed_at,
        suspended_since=suspended_since,
    )


def level_for(
    *,
    warn_at: datetime,
    due_at: datetime,
    now: datetime,
    completed_at: datetime | None = None,
    suspended_since: datetime | None = None,
) -> Level:
    """:func:`level_at` from the two instants alone (what storage keeps of a deadline)."""
    require_aware("now", now)
    if completed_at is not None and require_aware("completed_at", completed_at) <= now:
        return Level.DONE
    moment = now
    if suspended_since is not None:
        moment = min(now, require_aware("suspended_since", suspended_since))
    if moment > due_at:
        return Level.RED
    if moment >= warn_at:
        return Level.YELLOW
    return Level.GREEN


def closing_verdict(deadline: Deadline, closed_at: datetime) -> Verdict:
    """提前 (early: closed on a local date before due_date), 按时 (on time), or 超期 (late)."""
    zone = deadline.due_at.tzinfo
    tz = zone if isinstance(zone, ZoneInfo) else DEFAULT_TZ
    return verdict_for(
        due_date=deadline.due_date, due_at=deadline.due_at, closed_at=closed_at, tz=tz
    )


def verdict_for(
    *, due_date: date, due_at: datetime, closed_at: datetime, tz: ZoneInfo = DEFAULT_TZ
) -> Verdict:
    """:func:`closing_verdict` from what storage keeps of a deadline (instants in any zone)."""
    require_aware("closed_at", closed_at)
    if closed_at > due_at:
        return "late"
    if closed_at.astimezone(tz).date() < due_date:
        return "early"
    return "on_time"
