"""The working-day calendar and the bundled year files."""

from __future__ import annotations

import importlib.util
import pickle
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.calendar import (
    CalendarYear,
    WorkingCalendar,
    parse_year_file,
    provisional_year,
    render_year_file,
)
from core.errors import CalendarYearUnknown, InputError

ROOT = Path(__file__).resolve().parents[3]
CALENDAR_DIR = ROOT / "config" / "calendars"
YEAR_FILES = sorted(CALENDAR_DIR.glob("*.toml"))
CAL = WorkingCalendar.from_year_files(p.read_text(encoding="utf-8") for p in YEAR_FILES)

FIRST, LAST = date(2004, 1, 1), date(2026, 12, 31)
known_dates = st.dates(min_value=FIRST, max_value=LAST)


def _days(first: str, last: str) -> set[date]:
    lo, hi = date.fromisoformat(first), date.fromisoformat(last)
    return {lo + timedelta(days=i) for i in range((hi - lo).days + 1)}


# --- the bundled data -------------------------------------------------------------------


def test_bundled_years_are_2004_to_2026() -> None:
    """Every year from 2004 to 2026 ships as its own file and nothing else does."""
    assert [p.stem for p in YEAR_FILES] == [str(y) for y in range(2004, 2027)]
    assert CAL.years == tuple(range(2004, 2027))
    assert not (CALENDAR_DIR / "__init__.py").exists()


def test_2025_matches_the_state_council_notice() -> None:
    """2025 holds exactly the days off and make-up days of 国办发明电〔2024〕12号."""
    y = CAL.year(2025)
    expected = (
        _days("2025-01-01", "2025-01-01")
        | _days("2025-01-28", "2025-02-04")
        | _days("2025-04-04", "2025-04-06")
        | _days("2025-05-01", "2025-05-05")
        | _days("2025-05-31", "2025-06-02")
        | _days("2025-10-01", "2025-10-08")
    )
    assert set(y.holidays) == expected
    assert set(y.make_up_workdays) == {
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    }
    assert "国办发明电〔2024〕12号" in y.source
    assert y.holidays[date(2025, 1, 29)] == "春节"
    assert y.holidays[date(2025, 10, 6)] == "国庆节、中秋节"
    assert y.make_up_workdays[date(2025, 1, 26)] == "春节调休"


def test_2026_matches_the_state_council_notice() -> None:
    """2026 holds exactly the days off and make-up days of 国办发明电〔2025〕7号."""
    y = CAL.year(2026)
    expected = (
        _days("2026-01-01", "2026-01-03")
        | _days("2026-02-15", "2026-02-23")
        | _days("2026-04-04", "2026-04-06")
        | _days("2026-05-01", "2026-05-05")
        | _days("2026-06-19", "2026-06-21")
        | _days("2026-09-25", "2026-09-27")
        | _days("2026-10-01", "2026-10-07")
    )
    assert set(y.holidays) == expected
    assert set(y.make_up_workdays) == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    assert "国办发明电〔2025〕7号" in y.source
    assert y.holidays[date(2026, 9, 26)] == "中秋节"
    assert y.holidays[date(2026, 10, 1)] == "国庆节"


def test_every_year_file_names_its_notice_and_round_trips() -> None:
    """Each shipped file cites a State Council notice and renders back to the same text."""
    for path in YEAR_FILES:
        text = path.read_text(encoding="utf-8")
        year = parse_year_file(text)
        assert year.year == int(path.stem)
        assert f"国务院办公厅关于{year.year}年部分节假日安排的通知" in year.source
        assert render_year_file(year) == text


def test_make_up_days_filed_under_their_own_year() -> None:
    """A make-up day set by next year's notice (2011-12-31 for 2012 元旦) lives in its own year."""
    assert CAL.year(2011).make_up_workdays[date(2011, 12, 31)] == "元旦调休"
    assert CAL.is_working_day(date(2011, 12, 31))
    assert "2012年" in CAL.year(2011).source


def test_weekend_inside_a_period_is_a_named_holiday() -> None:
    """Weekend days inside a holiday period carry its name (2011-06-05 in 端午节 6/4–6/6)."""
    assert CAL.year(2011).holidays[date(2011, 6, 5)] == "端午节"
    assert CAL.day_name(date(2015, 9, 5)) == "抗战胜利纪念日"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_calendars", ROOT / "tools/gen_calendars.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_are_what_the_generator_makes() -> None:
    """The year files are what tools/gen_calendars.py makes and agree daily with chinesecalendar."""
    chinese_calendar = pytest.importorskip("chinese_calendar")
    generator = _load_generator()
    for path in YEAR_FILES:
        assert render_year_file(generator.build_year(int(path.stem))) == path.read_text("utf-8")
    day = FIRST
    while day <= LAST:
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# --- parsing ------------------------------------------------------------------------------

GOOD = """
year = 2026
source = "国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）"
[[holidays]]
name = "春节"
from = 2026-02-15
to = 2026-02-23
[[holidays]]
name = "元旦"
date = 2026-01-01
[[make_up_workdays]]
name = "春节"
date = 2026-02-14
"""


def test_parse_reads_ranges_single_days_and_make_up_days() -> None:
    """A year file's ranges expand to every day off; make-up names end in 调休."""
    y = parse_year_file(GOOD)
    assert y.year == 2026
    assert len(y.holidays) == 10
    assert y.holidays[date(2026, 2, 21)] == "春节"
    assert y.holidays[date(2026, 1, 1)] == "元旦"
    assert dict(y.make_up_workdays) == {date(2026, 2, 14): "春节调休"}


def test_render_groups_consecutive_days_and_parses_back() -> None:
    """render_year_file writes ranges, and parse_year_file reads the same year back."""
    y = parse_year_file(GOOD)
    text = render_year_file(y)
    assert "from = 2026-02-15\nto = 2026-02-23" in text
    assert parse_year_file(text) == y


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("year = 2026\n[[holidays]]\nname = 'x'\nfrom = 2025-12-31\nto = 2026-01-01", "2025-12-31"),
        ("year = 2026\n[[holidays]]\nname = '春节'\nfrom = 2026-02-23\nto = 2026-02-15", "after"),
        ("year = 2026\n[[make_up_workdays]]\nname = '春节'\ndate = 2026-02-16", "Monday"),
        (
            "year = 2026\n[[holidays]]\nname = 'a'\ndate = 2026-02-14\n"
            "[[make_up_workdays]]\nname = 'b'\ndate = 2026-02-14",
            "also a holiday",
        ),
        ("year = 2026\n[[holidays]]\nname = '春节'\nfrom = 2026-02-15", "'to'"),
        ("year = 2026\n[[holidays]]\nfrom = 2026-02-15\nto = 2026-02-16", "'name'"),
        ("source = 'x'", "'year'"),
        ("year = '2026'", "integer"),
        ("year = 2026\n[[holidays]]\nname = 'a'\nfrom = '2026-02-15'\nto = 2026-02-16", "date"),
        (
            "year = 2026\n[[holidays]]\nname = 'a'\nfrom = 2026-02-15T00:00:00\nto = 2026-02-16",
            "date",
        ),
        ("year = 2026\n[[holidays]]\nname = 3\ndate = 2026-02-15", "'name'"),
        ("year = 2026\n[[holidays]]\nname = 'a'\nform = 2026-02-15\nto = 2026-02-16", "'form'"),
        ("year = 2026\nholidays = 3", "array of tables"),
        ("year = 2026\nyaer = 2026", "'yaer'"),
        ("year = 2026\n[[make_up_workdays]]\nname = 'a'\ndate = 2027-01-02", "outside"),
        (
            "year = 2026\n[[holidays]]\nname = 'a'\ndate = 2026-02-15\n"
            "[[holidays]]\nname = 'b'\ndate = 2026-02-15",
            "already listed",
        ),
        ("year = 2026\n[[holidays]\n", "not valid TOML"),
    ],
)
def test_parse_rejects_bad_entries(text: str, fragment: str) -> None:
    """A bad year file raises InputError naming the offending entry or key."""
    with pytest.raises(InputError) as info:
        parse_year_file(text)
    assert fragment in str(info.value)


def test_calendar_year_validates_direct_construction() -> None:
    """CalendarYear itself refuses a weekday make-up day and a date of another year."""
    with pytest.raises(InputError, match="Saturday or Sunday"):
        CalendarYear(year=2026, holidays={}, make_up_workdays={date(2026, 2, 16): "春节"})
    with pytest.raises(InputError, match="outside year 2026"):
        CalendarYear(year=2026, holidays={date(2025, 12, 31): "x"}, make_up_workdays={})


# --- working-day arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-01-26", True),  # Sunday, 春节调休
        ("2025-01-28", False),  # 除夕, Tuesday off
        ("2025-02-08", True),  # Saturday, 春节调休
        ("2025-02-09", False),  # plain Sunday
        ("2025-10-08", False),  # last day of 国庆节、中秋节
        ("2025-10-11", True),  # Saturday, 国庆节调休
        ("2026-01-04", True),  # Sunday, 元旦调休
        ("2026-02-23", False),  # Monday, last day of 春节
        ("2026-02-28", True),  # Saturday, 春节调休
        ("2026-03-02", True),  # plain Monday
    ],
)
def test_is_working_day(day: str, working: bool) -> None:
    """Weekdays work unless a holiday; 调休 Saturdays and Sundays work."""
    assert CAL.is_working_day(date.fromisoformat(day)) is working


def test_add_and_subtract_across_spring_festival() -> None:
    """Arithmetic jumps the 2025 Spring Festival and counts its make-up Saturday."""
    assert CAL.add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 5)
    assert CAL.add_working_days(date(2025, 2, 7), 1) == date(2025, 2, 8)
    assert CAL.subtract_working_days(date(2025, 2, 5), 1) == date(2025, 1, 27)
    assert CAL.subtract_working_days(date(2025, 2, 5), 2) == date(2025, 1, 26)
    assert CAL.add_working_days(date(2025, 2, 1), 0) == date(2025, 2, 1)
    assert CAL.subtract_working_days(date(2025, 2, 1), 0) == date(2025, 2, 1)


def test_add_crosses_new_year() -> None:
    """From the last day of 2025 the next working day is the 2026 元旦 make-up Sunday."""
    assert CAL.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert CAL.next_working_day_on_or_after(date(2026, 1, 1)) == date(2026, 1, 4)
    assert CAL.next_working_day_on_or_after(date(2026, 1, 5)) == date(2026, 1, 5)


def test_count_is_half_open() -> None:
    """count_working_days counts [start, end): start included, end excluded, 0 when empty."""
    assert CAL.count_working_days(date(2025, 1, 27), date(2025, 2, 5)) == 1
    assert CAL.count_working_days(date(2025, 1, 27), date(2025, 2, 6)) == 2
    assert CAL.count_working_days(date(2025, 2, 6), date(2025, 2, 6)) == 0
    assert CAL.count_working_days(date(2025, 2, 6), date(2025, 1, 1)) == 0
    assert CAL.count_working_days(date(2025, 1, 1), date(2026, 1, 1)) == 248


def test_unknown_years_are_refused_with_the_known_span() -> None:
    """Any look at a day outside the loaded years raises CalendarYearUnknown(known=(lo, hi))."""
    with pytest.raises(CalendarYearUnknown, match=r"2027 \(known: 2004–2026\)") as info:
        CAL.add_working_days(date(2026, 12, 20), 20)
    assert info.value.year == 2027
    with pytest.raises(CalendarYearUnknown):
        CAL.is_working_day(date(2003, 12, 31))
    with pytest.raises(CalendarYearUnknown):
        CAL.subtract_working_days(date(2004, 1, 5), 5)
    with pytest.raises(CalendarYearUnknown):
        CAL.count_working_days(date(2026, 12, 30), date(2027, 1, 2))
    with pytest.raises(CalendarYearUnknown):
        CAL.next_working_day_on_or_after(date(2027, 1, 1))
    with pytest.raises(CalendarYearUnknown):
        CAL.year(2027)
    assert CAL.knows(date(2026, 12, 31))
    assert not CAL.knows(date(2027, 1, 1))


def test_next_working_day_on_the_last_known_day() -> None:
    """2026-12-31 is a working Thursday, so it is its own next working day."""
    assert CAL.next_working_day_on_or_after(date(2026, 12, 31)) == date(2026, 12, 31)
    assert CAL.count_working_days(date(2026, 12, 31), date(2027, 1, 1)) == 1


def test_years_need_not_be_contiguous() -> None:
    """A calendar of 2024 and 2026 refuses 2025 even between the two."""
    cal = WorkingCalendar([CAL.year(2026), CAL.year(2024)])
    assert cal.years == (2024, 2026)
    with pytest.raises(CalendarYearUnknown) as info:
        cal.add_working_days(date(2024, 12, 30), 5)
    assert info.value.year == 2025
    with pytest.raises(CalendarYearUnknown):
        cal.count_working_days(date(2024, 12, 1), date(2026, 1, 10))
    with pytest.raises(CalendarYearUnknown):
        cal.subtract_working_days(date(2026, 1, 5), 3)
    assert cal.add_working_days(date(2026, 1, 1), 1) == date(2026, 1, 4)


def test_with_year_replaces_and_returns_a_new_calendar() -> None:
    """with_year swaps the same year in a new object and leaves the old one alone."""
    extra = CalendarYear(year=2025, holidays={date(2025, 3, 3): "测试日"}, make_up_workdays={})
    changed = CAL.with_year(extra)
    assert changed is not CAL
    assert not changed.is_working_day(date(2025, 3, 3))
    assert CAL.is_working_day(date(2025, 3, 3))
    assert changed.is_working_day(date(2025, 1, 26)) is False  # old 2025 make-up day gone
    added = WorkingCalendar([]).with_year(extra)
    assert added.years == (2025,)


def test_empty_calendar_knows_nothing() -> None:
    """An empty calendar refuses every date."""
    with pytest.raises(CalendarYearUnknown):
        WorkingCalendar([]).is_working_day(date(2025, 1, 1))


def test_working_days_between_lists_days() -> None:
    """working_days_between lists the working days of a closed range in order."""
    assert CAL.working_days_between(date(2025, 2, 3), date(2025, 2, 10)) == [
        date(2025, 2, 5),
        date(2025, 2, 6),
        date(2025, 2, 7),
        date(2025, 2, 8),
        date(2025, 2, 10),
    ]


# --- properties ---------------------------------------------------------------------------


@given(known_dates, st.integers(min_value=0, max_value=400))
@example(date(2004, 1, 1), 1)  # back from 2004-01-02 is 2003, which no year file covers
def test_count_and_add_agree(day: date, n: int) -> None:
    """count(d+1, add(d, n)+1) == n whenever add succeeds."""
    try:
        due = CAL.add_working_days(day, n)
    except CalendarYearUnknown:
        return
    one = timedelta(days=1)
    assert CAL.count_working_days(day + one, due + one) == n
    if n:
        assert CAL.is_working_day(due)
        try:
            assert CAL.subtract_working_days(due, n) <= day
        except CalendarYearUnknown:
            # Stepping back may leave the known years only when no working day of them
            # lies at or before ``day`` (2004-01-01 is a holiday: back from 01-02 is 2003).
            assert not any(CAL.is_working_day(d) for d in _each_day(FIRST, day))


def _each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@given(known_dates, st.integers(min_value=1, max_value=400))
def test_add_matches_a_day_by_day_walk(day: date, n: int) -> None:
    """The precomputed arithmetic equals walking day by day."""
    try:
        fast = CAL.add_working_days(day, n)
    except CalendarYearUnknown:
        return
    walk, left = day, n
    while left:
        walk += timedelta(days=1)
        left -= CAL.is_working_day(walk)
    assert fast == walk


@given(known_dates, known_dates)
def test_count_matches_a_day_by_day_walk(a: date, b: date) -> None:
    """count_working_days equals counting day by day over [a, b)."""
    expected = sum(CAL.is_working_day(a + timedelta(days=i)) for i in range((b - a).days))
    assert CAL.count_working_days(a, b) == expected


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)))
def test_unknown_years_always_refused(day: date) -> None:
    """Every method refuses a day of an unloaded year and accepts a day of a loaded one."""
    cal = WorkingCalendar([CAL.year(2024), CAL.year(2026)])
    if cal.knows(day):
        cal.is_working_day(day)
        return
    for call in (
        lambda: cal.is_working_day(day),
        lambda: cal.add_working_days(day, 1),
        lambda: cal.subtract_working_days(day, 1),
        lambda: cal.next_working_day_on_or_after(day),
        lambda: cal.count_working_days(day, day + timedelta(days=1)),
    ):
        with pytest.raises(CalendarYearUnknown):
            call()


def test_calendar_year_is_hashable_and_picklable() -> None:
    """Year and calendar objects survive pickling (worker processes) and years hash."""
    copy = pickle.loads(pickle.dumps(CAL))  # noqa: S301  # our own bytes, just made
    assert copy.year(2025) == CAL.year(2025)
    assert hash(copy.year(2025)) == hash(CAL.year(2025))
    assert copy.add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 5)


NAMES = st.sampled_from(
    ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节、国庆节", 'a "quoted" name']
)


@given(
    st.dictionaries(st.dates(date(2030, 1, 1), date(2030, 12, 31)), NAMES, max_size=40),
    st.dictionaries(st.dates(date(2030, 1, 1), date(2030, 12, 31)), NAMES, max_size=10),
)
def test_render_parse_round_trip(holidays: dict[date, str], make_up: dict[date, str]) -> None:
    """Any valid year renders to a file that parses back to the same year."""
    make_up = {d: n for d, n in make_up.items() if d.weekday() >= 5 and d not in holidays}
    year = CalendarYear(year=2030, holidays=holidays, make_up_workdays=make_up, source="测试")
    assert parse_year_file(render_year_file(year)) == year


# --- a provisional year -----------------------------------------------------------------

# 2027's statutory days as the lunar calendar gives them (the Eve on a Friday, days 1–2 of
# the Spring Festival on the weekend; Labour Day and two National Days on weekends too).
FESTIVALS_2027 = {
    date(2027, 1, 1): "元旦",
    **{date(2027, 2, d): "春节" for d in (5, 6, 7, 8)},
    date(2027, 4, 5): "清明节",
    date(2027, 5, 1): "劳动节",
    date(2027, 5, 2): "劳动节",
    date(2027, 6, 9): "端午节",
    date(2027, 9, 15): "中秋节",
    **{date(2027, 10, d): "国庆节" for d in (1, 2, 3)},
}


def test_provisional_2027_makes_up_weekend_holidays_on_the_next_working_days() -> None:
    """补假: a holiday on a weekend adds the next free weekday off; no 调休 is guessed."""
    year = provisional_year(2027, FESTIVALS_2027)
    assert year.provisional
    assert year.make_up_workdays == {}
    off = set(year.holidays)
    # Spring Festival: Sat 6 and Sun 7 are made up on Tue 9 and Wed 10 (Mon 8 is day 3).
    assert _days("2027-02-05", "2027-02-10") <= off
    assert date(2027, 2, 11) not in off
    # Labour Day Sat 1, Sun 2 -> Mon 3, Tue 4; National Day Sat 2, Sun 3 -> Mon 4, Tue 5.
    assert _days("2027-05-01", "2027-05-04") <= off
    assert _days("2027-10-01", "2027-10-05") <= off
    assert date(2027, 10, 6) not in off
    assert year.holidays[date(2027, 2, 10)] == "春节"


def test_a_calendar_tells_official_from_provisional_years() -> None:
    """A provisional year is known to the arithmetic and flagged for the deadlines on it."""
    cal = CAL.with_year(provisional_year(2027, FESTIVALS_2027))
    assert cal.official_years[-1] == 2026
    assert cal.provisional_years == (2027,)
    assert cal.spans_provisional(date(2026, 12, 20), date(2027, 1, 18))
    assert not cal.spans_provisional(date(2026, 1, 1), date(2026, 12, 31))
    # 20 working days from 20 Dec 2026: New Year's Day off, nothing else guessed.
    assert cal.add_working_days(date(2026, 12, 20), 20) == date(2027, 1, 18)
    with pytest.raises(CalendarYearUnknown):
        cal.add_working_days(date(2027, 12, 1), 40)


weekdays_2030 = st.dates(date(2030, 1, 1), date(2030, 12, 20))


@given(st.dictionaries(weekdays_2030, st.sampled_from(["春节", "劳动节", "国庆节"]), max_size=12))
def test_provisional_year_never_has_fewer_days_off_than_holidays(
    festivals: dict[date, str],
) -> None:
    """Every statutory day is off, and each one on a weekend adds exactly one weekday off."""
    year = provisional_year(2030, festivals)
    weekend = [d for d in festivals if d.weekday() >= 5]
    extra = set(year.holidays) - set(festivals)
    assert set(festivals) <= set(year.holidays)
    assert len(extra) == len(weekend)
    assert all(d.weekday() < 5 for d in extra)
    # Each made-up day comes after the weekend holiday it stands for, none before all.
    assert all(d > min(weekend) for d in extra)
    assert not year.make_up_workdays


@given(st.dictionaries(weekdays_2030, st.just("端午节"), max_size=12), weekdays_2030)
def test_adding_a_festival_never_gives_more_working_days(
    festivals: dict[date, str], more: date
) -> None:
    """Adding a holiday can only take working days away, never add one."""
    # One year alone: a calendar of 27 years per example would be slow on a busy machine.
    base = WorkingCalendar([provisional_year(2030, festivals)])
    wider = WorkingCalendar([provisional_year(2030, festivals | {more: "中秋节"})])
    first, end = date(2030, 1, 1), date(2030, 12, 31)
    assert wider.count_working_days(first, end) <= base.count_working_days(first, end)


def test_provisional_year_refuses_a_day_of_another_year() -> None:
    """A festival filed under the wrong year is an input error, not a silent shift."""
    with pytest.raises(InputError, match="outside year 2027"):
        provisional_year(2027, {date(2028, 1, 1): "元旦"})
