"""Statutory stages of 行政许可法 and the exceeds-statutory flag."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.calendar import WorkingCalendar
from core.deadlines import Limit, Unit, compute_deadline
from core.errors import CalendarYearUnknown
from core.stages import (
    STATUTORY_EXTENSION,
    STATUTORY_LIMITS,
    Stage,
    exceeds_statutory,
    statutory_limit,
)

CALENDAR_DIR = Path(__file__).resolve().parents[3] / "config" / "calendars"
CAL = WorkingCalendar.from_year_files(
    p.read_text(encoding="utf-8") for p in sorted(CALENDAR_DIR.glob("*.toml"))
)
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 9, 22, 10, 0, tzinfo=TZ)
WD, CD = Unit.WORKING_DAYS, Unit.CALENDAR_DAYS


def lim(value: int, unit: Unit = WD) -> Limit:
    return Limit(value=value, unit=unit)


def test_statutory_limits() -> None:
    """Art. 32: 5, Art. 42: 20 (+10), Art. 44: 10 working days."""
    assert STATUTORY_LIMITS[Stage.ACCEPTANCE] == lim(5)
    assert STATUTORY_LIMITS[Stage.DECISION] == lim(20)
    assert STATUTORY_LIMITS[Stage.ISSUE] == lim(10)
    assert lim(10) == STATUTORY_EXTENSION
    assert statutory_limit(Stage.DECISION, extended=True) == lim(30)
    assert statutory_limit(Stage.ISSUE, extended=True) == lim(10)
    assert [s.value for s in Stage] == ["acceptance", "decision", "issue"]


def test_stage_deadline_over_national_day() -> None:
    """The issue stage after a decision on 2025-09-30 runs to 2025-10-21, across National Day."""
    decided = datetime(2025, 9, 30, 15, 0, tzinfo=TZ)
    d = compute_deadline(decided, STATUTORY_LIMITS[Stage.ISSUE], CAL)
    assert d.due_date.isoformat() == "2025-10-21"


@pytest.mark.parametrize(
    ("limit", "extensions", "green", "exceeds"),
    [
        (lim(20), (), False, False),
        (lim(15), (), False, False),
        (lim(21), (), False, True),
        (lim(20), (lim(10),), False, False),
        (lim(25), (lim(5),), False, False),
        (lim(25), (lim(10),), False, True),
        (lim(5), (lim(11),), False, True),  # extensions beyond Art. 42's 10 days
        (lim(5), (lim(6), lim(6)), False, True),  # several add up beyond 10
        (lim(30), (), True, False),  # green channel halves to 15
        (lim(28, CD), (), False, False),  # 28 calendar days ≈ 20 working days here
        (lim(60, CD), (), False, True),
    ],
)
def test_exceeds_statutory(
    limit: Limit, extensions: tuple[Limit, ...], green: bool, exceeds: bool
) -> None:
    """A limit falling after Art. 42's 20 (+10 when extended) working days is flagged."""
    assert (
        exceeds_statutory(START, limit, CAL, extensions=extensions, green_channel=green) is exceeds
    )


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(TZ)
    ),
    st.integers(min_value=0, max_value=40),
    st.sampled_from([WD, CD]),
    st.lists(st.builds(lim, st.integers(min_value=0, max_value=15)), max_size=2),
    st.booleans(),
)
def test_the_flag_kept_for_an_acceptance_day_is_the_fresh_one(
    start: datetime, n: int, unit: Unit, extensions: list[Limit], green: bool
) -> None:
    """Asked again on the same calendar (or another instant of the day), the answer holds."""
    fresh = WorkingCalendar(CAL.year(y) for y in CAL.years)
    try:
        expected = exceeds_statutory(
            start, lim(n, unit), fresh, extensions=extensions, green_channel=green
        )
    except CalendarYearUnknown:
        return
    later = start.replace(hour=23, minute=59)
    for calendar in (CAL, CAL):
        assert (
            exceeds_statutory(
                later, lim(n, unit), calendar, extensions=extensions, green_channel=green
            )
            == expected
        )
