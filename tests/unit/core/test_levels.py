"""Levels at an instant and the closing verdict."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.calendar import WorkingCalendar
from core.deadlines import Deadline, Limit, Unit, compute_deadline
from core.errors import InputError
from core.levels import LEVEL_WORDS, Level, closing_verdict, level_at, level_for

CALENDAR_DIR = Path(__file__).resolve().parents[3] / "config" / "calendars"
CAL = WorkingCalendar.from_year_files(
    p.read_text(encoding="utf-8") for p in sorted(CALENDAR_DIR.glob("*.toml"))
)
TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A Beijing-time instant from 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


# 20 working days from Monday 2025-09-22: due 2025-10-24, yellow from 10-23 09:00.
DEADLINE: Deadline = compute_deadline(
    at("2025-09-22 10:00"), Limit(value=20, unit=Unit.WORKING_DAYS), CAL
)


@pytest.mark.parametrize(
    ("now", "level"),
    [
        ("2025-09-22 10:00", Level.GREEN),
        ("2025-10-23 08:59:59", Level.GREEN),
        ("2025-10-23 09:00", Level.YELLOW),
        ("2025-10-24 23:59:59", Level.YELLOW),
        ("2025-10-25 00:00", Level.RED),
        ("2025-12-01 00:00", Level.RED),
    ],
)
def test_level_boundaries(now: str, level: Level) -> None:
    """Green before warn_at, yellow from warn_at, red strictly after due_at."""
    assert level_at(DEADLINE, now=at(now)) is level


def test_done_once_completed() -> None:
    """A completed node is done from its completion on, even when it was late."""
    assert (
        level_at(DEADLINE, now=at("2025-11-01 10:00"), completed_at=at("2025-10-30 10:00"))
        is Level.DONE
    )
    assert (
        level_at(DEADLINE, now=at("2025-10-23 10:00"), completed_at=at("2025-10-30 10:00"))
        is Level.YELLOW
    )


def test_suspension_freezes_the_level() -> None:
    """While suspended, the level stays what it was when the clock stopped."""
    since = at("2025-10-22 10:00")
    assert level_at(DEADLINE, now=at("2025-11-30 10:00"), suspended_since=since) is Level.GREEN
    assert (
        level_at(DEADLINE, now=at("2025-11-30 10:00"), suspended_since=at("2025-10-23 12:00"))
        is Level.YELLOW
    )


def test_naive_now_is_refused() -> None:
    """A naive now raises InputError."""
    with pytest.raises(InputError):
        level_at(DEADLINE, now=datetime(2025, 10, 1))


def test_level_words_are_words() -> None:
    """Each level has Chinese words for pages, so colour alone carries no meaning."""
    assert LEVEL_WORDS == {
        Level.GREEN: "正常",
        Level.YELLOW: "黄牌预警",
        Level.RED: "红牌超期",
        Level.DONE: "已办结",
    }


@pytest.mark.parametrize(
    ("closed", "verdict"),
    [
        ("2025-10-23 18:00", "early"),
        ("2025-10-24 00:00", "on_time"),
        ("2025-10-24 23:59:59", "on_time"),
        ("2025-10-25 00:00", "late"),
    ],
)
def test_closing_verdict(closed: str, verdict: str) -> None:
    """提前 before the due date, 按时 on it, 超期 after due_at."""
    assert closing_verdict(DEADLINE, at(closed)) == verdict


def test_closing_verdict_for_hours_limits() -> None:
    """An hours deadline closed on its due date but before due_at is on time; after it, late."""
    d = compute_deadline(at("2025-03-03 10:00"), Limit(value=8, unit=Unit.HOURS), CAL)
    assert closing_verdict(d, at("2025-03-03 17:00")) == "on_time"
    assert closing_verdict(d, at("2025-03-03 18:01")) == "late"
    utc_close = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("UTC"))  # 17:00 in Beijing
    assert closing_verdict(d, utc_close) == "on_time"


RANK = {Level.GREEN: 0, Level.YELLOW: 1, Level.RED: 2}


@given(
    st.integers(min_value=-5 * 24 * 60, max_value=60 * 24 * 60),
    st.integers(min_value=0, max_value=10 * 24 * 60),
)
def test_level_is_monotone_in_now(minutes: int, later: int) -> None:
    """As now advances the level goes green → yellow → red and never back."""
    first = DEADLINE.start + timedelta(minutes=minutes)
    second = first + timedelta(minutes=later)
    assert RANK[level_at(DEADLINE, now=first)] <= RANK[level_at(DEADLINE, now=second)]


def test_level_for_matches_level_at() -> None:
    """level_for on the stored instants gives the same level as level_at on the deadline."""
    for now in ("2025-09-22 10:00", "2025-10-23 09:00", "2025-10-25 00:00"):
        assert level_for(warn_at=DEADLINE.warn_at, due_at=DEADLINE.due_at, now=at(now)) is (
            level_at(DEADLINE, now=at(now))
        )


def test_verdict_judges_the_local_date_whatever_zone_storage_returns() -> None:
    """A case closed at 07:00 Beijing time on the day before its due date is early, even in UTC."""
    from datetime import UTC, date

    from core.levels import verdict_for

    due_at = datetime(2026, 3, 10, 23, 59, 59, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    closed = datetime(2026, 3, 9, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    assert closed.date() == date(2026, 3, 8)  # in UTC it is still the 8th
    assert verdict_for(due_date=date(2026, 3, 10), due_at=due_at, closed_at=closed) == "early"
    on_the_day = datetime(2026, 3, 10, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    assert verdict_for(due_date=date(2026, 3, 10), due_at=due_at, closed_at=on_the_day) == "on_time"
