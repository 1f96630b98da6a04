"""Where calendar years come from: the provisional next year's festival dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.calendar import CalendarYear
from core.deadlines import Limit, Unit, compute_deadline
from hub.store.calendars import (
    LiveCalendar,
    load_calendar,
    statutory_festivals,
    with_provisional_next_year,
)


def _named(year: int, name: str) -> list[date]:
    return sorted(d for d, n in statutory_festivals(year).items() if name in n.split("、"))


@pytest.mark.parametrize(
    ("year", "eve", "qingming", "dragon_boat", "mid_autumn"),
    [
        # Checked against the 农历 of a printed almanac (万年历).
        (2027, date(2027, 2, 5), date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)),
        (2028, date(2028, 1, 25), date(2028, 4, 4), date(2028, 5, 28), date(2028, 10, 3)),
        (2030, date(2030, 2, 2), date(2030, 4, 5), date(2030, 6, 5), date(2030, 9, 12)),
    ],
)
def test_lunar_festivals_fall_on_their_dates(
    year: int, eve: date, qingming: date, dragon_boat: date, mid_autumn: date
) -> None:
    """The Eve and days 1–3 of 春节, 清明, 端午, 中秋 come out on the almanac's dates."""
    assert _named(year, "春节") == [eve + timedelta(days=i) for i in range(4)]
    assert _named(year, "清明节") == [qingming]
    assert _named(year, "端午节") == [dragon_boat]
    assert _named(year, "中秋节") == [mid_autumn]


@pytest.mark.parametrize("year", range(2025, 2040))
def test_every_year_has_the_thirteen_statutory_days(year: int) -> None:
    """New Year 1, Spring Festival 4, Qingming 1, Labour 2, Dragon Boat 1, Mid-Autumn 1,
    National Day 3 — 13 days (12 when 中秋 falls on 国庆), and no 调休 rest days."""
    festivals = statutory_festivals(year)
    # 中秋 on 1–3 October (2028, 2031, 2039) is one day off, not two.
    expected = 13 if "中秋节" in festivals.values() else 12
    assert len(festivals) == expected
    assert len(_named(year, "中秋节")) == 1
    assert _named(year, "元旦") == [date(year, 1, 1)]
    assert _named(year, "劳动节") == [date(year, 5, 1), date(year, 5, 2)]
    assert _named(year, "国庆节") == [date(year, 10, d) for d in (1, 2, 3)]


def test_only_the_year_after_the_last_official_one_is_provisional(tmp_path: Path) -> None:
    """2027 is added provisionally; 2028 stays unknown; an official year is never replaced."""
    official = load_calendar(tmp_path)
    calendar = with_provisional_next_year(official)
    assert calendar.official_years[-1] == 2026
    assert calendar.provisional_years == (2027,)
    assert not calendar.knows(date(2028, 1, 1))
    again = with_provisional_next_year(calendar)
    assert again.provisional_years == (2027,)


def test_an_imported_year_drops_the_deadlines_kept_for_the_old_years(tmp_path: Path) -> None:
    """A deadline computed before a swap is computed again on the new years, not reused:
    2027's provisional calendar and an official one with a make-up Saturday differ."""
    official = load_calendar(tmp_path)
    live = LiveCalendar(official, provisional_next_year=True)
    start = datetime(2027, 1, 4, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    limit = Limit(value=20, unit=Unit.WORKING_DAYS)
    provisional = compute_deadline(start, limit, live)
    assert provisional.provisional and live.memo
    # The official 2027 as the provisional one plus a make-up workday on Saturday 9 January.
    year_2027 = with_provisional_next_year(official).year(2027)
    imported = CalendarYear(
        year=2027, holidays=year_2027.holidays, make_up_workdays={date(2027, 1, 9): "调休"}
    )
    live.swap(official.with_year(imported), revision=1)
    official_deadline = compute_deadline(start, limit, live)
    assert not official_deadline.provisional
    assert official_deadline.due_date < provisional.due_date  # one more working day on the way
