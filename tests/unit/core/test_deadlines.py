"""Deadline computation: real cases from the 2025 and 2026 State Council notices, and properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.calendar import CalendarYear, WorkingCalendar
from core.deadlines import (
    Deadline,
    Limit,
    Suspension,
    Unit,
    WarnPolicy,
    compute_deadline,
)
from core.errors import CalendarYearUnknown, InputError

CALENDAR_DIR = Path(__file__).resolve().parents[3] / "config" / "calendars"
CAL = WorkingCalendar.from_year_files(
    p.read_text(encoding="utf-8") for p in sorted(CALENDAR_DIR.glob("*.toml"))
)
TZ = ZoneInfo("Asia/Shanghai")
WD, CD, H = Unit.WORKING_DAYS, Unit.CALENDAR_DAYS, Unit.HOURS


def at(text: str) -> datetime:
    """A Beijing-time instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def sus(start: str, end: str | None) -> Suspension:
    return Suspension(start=at(start), end=at(end) if end else None)


def lim(value: int, unit: Unit = WD) -> Limit:
    return Limit(value=value, unit=unit)


# --- the example table ------------------------------------------------------------------------
# (start, value, unit, keyword arguments, due_date, working_days in the output)
# Weekdays: 2025-01-24 Fri, 2025-01-26 Sun 调休, 2025-01-28..02-04 春节, 2025-02-08 Sat 调休,
# 2025-09-28 Sun 调休, 2025-10-01..10-08 国庆节、中秋节, 2025-10-11 Sat 调休, 2026-01-01..01-03
# 元旦, 2026-01-04 Sun 调休, 2026-02-14 Sat 调休, 2026-02-15..02-23 春节, 2026-02-28 Sat 调休,
# 2026-09-20 Sun 调休, 2026-10-01..10-07 国庆节, 2026-10-10 Sat 调休.
CASES: list[tuple[str, str, int, Unit, dict[str, Any], str, int]] = [
    # working days across the 2025 Spring Festival: 1/26 (Sun, 调休) counts, 1/28–2/4 do not
    ("wd-spring-2025", "2025-01-24 10:00", 5, WD, {}, "2025-02-07", 5),
    ("wd-before-spring-2025", "2025-01-27 09:00", 1, WD, {}, "2025-02-05", 1),
    ("wd-saturday-makeup-2025", "2025-01-27 09:00", 5, WD, {}, "2025-02-10", 5),
    ("wd-lands-on-makeup-saturday", "2025-02-07 16:00", 1, WD, {}, "2025-02-08", 1),
    ("wd-makeup-sunday-before-national-day", "2025-09-26 10:00", 3, WD, {}, "2025-09-30", 3),
    ("wd-jump-national-day-2025", "2025-09-30 10:00", 1, WD, {}, "2025-10-09", 1),
    ("wd-after-national-day-makeup", "2025-09-30 10:00", 3, WD, {}, "2025-10-11", 3),
    ("wd-20-over-national-day-2025", "2025-09-30 10:00", 20, WD, {}, "2025-11-04", 20),
    # the acceptance day is never counted: late at night, on a holiday, on a 调休 day
    ("wd-accepted-2359", "2025-03-03 23:59", 1, WD, {}, "2025-03-04", 1),
    ("wd-accepted-on-holiday", "2025-10-03 10:00", 1, WD, {}, "2025-10-09", 1),
    ("wd-accepted-on-holiday-2", "2025-10-03 10:00", 2, WD, {}, "2025-10-10", 2),
    ("wd-accepted-on-makeup-saturday", "2025-10-11 10:00", 1, WD, {}, "2025-10-13", 1),
    ("wd-accepted-on-makeup-sunday", "2025-04-27 15:00", 1, WD, {}, "2025-04-28", 1),
    # 2026 Spring Festival: 2/14 and 2/28 (Saturdays, 调休) count
    ("wd-2026-eve-makeup", "2026-02-13 10:00", 1, WD, {}, "2026-02-14", 1),
    ("wd-2026-over-spring", "2026-02-13 10:00", 2, WD, {}, "2026-02-24", 2),
    ("wd-2026-spring-10", "2026-02-13 10:00", 10, WD, {}, "2026-03-05", 10),
    ("wd-2026-national-day", "2026-09-30 10:00", 1, WD, {}, "2026-10-08", 1),
    ("wd-2026-national-day-makeup", "2026-09-30 10:00", 3, WD, {}, "2026-10-10", 3),
    ("wd-2026-makeup-sunday-0920", "2026-09-18 10:00", 1, WD, {}, "2026-09-20", 1),
    # New Year 2026: 1/1–1/3 off, 1/4 (Sunday) works
    ("wd-new-year-2026", "2025-12-31 10:00", 1, WD, {}, "2026-01-04", 1),
    ("wd-new-year-2026-two", "2025-12-30 10:00", 2, WD, {}, "2026-01-04", 2),
    ("wd-last-known-day", "2026-12-15 10:00", 12, WD, {}, "2026-12-31", 12),
    # calendar days: a period ending on a day off ends on the next working day
    ("cd-ends-in-spring-festival", "2025-01-24 10:00", 7, CD, {}, "2025-02-05", 3),
    ("cd-ends-in-national-day", "2025-09-26 10:00", 5, CD, {}, "2025-10-09", 4),
    ("cd-ends-on-makeup-saturday", "2025-09-26 10:00", 15, CD, {}, "2025-10-11", 6),
    ("cd-ends-on-2026-makeup", "2026-02-10 10:00", 4, CD, {}, "2026-02-14", 4),
    ("cd-ends-in-2026-spring", "2026-02-10 10:00", 5, CD, {}, "2026-02-24", 5),
    ("cd-ends-on-weekend", "2025-03-07 10:00", 1, CD, {}, "2025-03-10", 1),
    ("cd-ends-in-qingming-2026", "2026-04-01 10:00", 3, CD, {}, "2026-04-07", 3),
    ("cd-ends-on-working-day", "2025-03-03 10:00", 30, CD, {}, "2025-04-02", 22),
    # hours: elapsed time, weekends and holidays included
    ("h-over-weekend", "2025-03-07 16:00", 72, H, {}, "2025-03-10", 1),
    ("h-into-spring-festival", "2025-01-27 10:00", 48, H, {}, "2025-01-29", 0),
    # green channel: ceil(N / 2) in the same unit
    ("green-5-is-3", "2025-03-03 10:00", 5, WD, {"green_channel": True}, "2025-03-06", 3),
    ("green-20-is-10", "2025-03-03 10:00", 20, WD, {"green_channel": True}, "2025-03-17", 10),
    ("green-7-cd-is-4", "2025-03-03 10:00", 7, CD, {"green_channel": True}, "2025-03-07", 4),
    ("green-over-spring-2026", "2026-02-12 10:00", 3, WD, {"green_channel": True}, "2026-02-14", 2),
    # suspensions: K = working days in [S, R); across holidays; several add up
    (
        "suspension-over-spring-2025",
        "2025-01-20 10:00",
        10,
        WD,
        {"suspensions": [sus("2025-01-23 10:00", "2025-02-06 09:00")]},
        "2025-02-14",
        15,
    ),
    (
        "two-suspensions-national-day",
        "2025-09-22 10:00",
        20,
        WD,
        {
            "suspensions": [
                sus("2025-09-26 10:00", "2025-09-29 09:00"),
                sus("2025-09-30 10:00", "2025-10-10 09:00"),
            ]
        },
        "2025-10-30",
        24,
    ),
    (
        "same-day-suspension-moves-nothing",
        "2025-03-03 10:00",
        5,
        WD,
        {"suspensions": [sus("2025-03-04 10:00", "2025-03-04 16:00")]},
        "2025-03-10",
        5,
    ),
    (
        "open-suspension-moves-nothing",
        "2025-03-03 10:00",
        5,
        WD,
        {"suspensions": [sus("2025-03-04 10:00", None)]},
        "2025-03-10",
        5,
    ),
    (
        "suspension-2026-spring",
        "2026-02-09 10:00",
        5,
        WD,
        {"suspensions": [sus("2026-02-12 09:00", "2026-02-25 09:00")]},
        "2026-02-27",
        9,
    ),
    # extensions: M working days after the current due date
    ("extension-10", "2025-09-22 10:00", 20, WD, {"extensions": [lim(10)]}, "2025-11-07", 30),
    (
        "extension-2026-spring",
        "2026-01-26 10:00",
        10,
        WD,
        {"extensions": [lim(5)]},
        "2026-02-14",
        15,
    ),
    (
        "calendar-extension-rolls",
        "2025-09-22 10:00",
        5,
        CD,
        {"extensions": [lim(3, CD)]},
        "2025-10-09",
        8,
    ),
    (
        "green-extension-not-halved",
        "2025-03-03 10:00",
        5,
        WD,
        {"green_channel": True, "extensions": [lim(5)]},
        "2025-03-13",
        8,
    ),
    (
        "suspension-and-extension",
        "2025-09-22 10:00",
        20,
        WD,
        {"suspensions": [sus("2025-09-26 10:00", "2025-09-29 09:00")], "extensions": [lim(10)]},
        "2025-11-11",
        32,
    ),
]


@pytest.mark.parametrize(
    ("start", "value", "unit", "kwargs", "due_date", "working_days"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_real_cases(
    start: str, value: int, unit: Unit, kwargs: dict[str, Any], due_date: str, working_days: int
) -> None:
    """Each real case from the 2025/2026 notices falls due on the expected date."""
    deadline = compute_deadline(at(start), lim(value, unit), CAL, **kwargs)
    assert deadline.due_date.isoformat() == due_date
    assert deadline.working_days == working_days
    if unit is not H:
        assert deadline.due_at == datetime.combine(deadline.due_date, time(23, 59, 59), TZ)
        assert deadline.due_at.isoformat().endswith("T23:59:59+08:00")
    assert deadline.start <= deadline.warn_at <= deadline.due_at


@pytest.mark.parametrize(
    ("start", "value", "unit"),
    [
        ("2026-12-15 10:00", 20, WD),  # 2026-12 start whose span needs 2027
        ("2026-12-31 23:00", 1, WD),
        ("2026-12-31 10:00", 1, CD),
        ("2026-12-28 10:00", 100, H),
        ("2003-12-31 10:00", 1, WD),
        ("2027-01-04 10:00", 1, H),
    ],
)
def test_span_outside_known_years_is_refused(start: str, value: int, unit: Unit) -> None:
    """A span reaching past the loaded years raises CalendarYearUnknown, never a guess."""
    with pytest.raises(CalendarYearUnknown):
        compute_deadline(at(start), lim(value, unit), CAL)


def test_suspension_in_unknown_year_is_refused() -> None:
    """A suspension reaching into 2027 cannot be counted, so the deadline is refused."""
    with pytest.raises(CalendarYearUnknown):
        compute_deadline(
            at("2026-12-01 10:00"),
            lim(5),
            CAL,
            suspensions=[sus("2026-12-02 10:00", "2027-01-05 09:00")],
        )


def test_output_counts() -> None:
    """The suspended/extended working-day counts and open_suspension report what moved the date."""
    d = compute_deadline(
        at("2025-09-22 10:00"),
        lim(20),
        CAL,
        suspensions=[
            sus("2025-09-26 10:00", "2025-09-29 09:00"),
            sus("2025-09-30 10:00", "2025-10-10 09:00"),
            sus("2025-10-20 10:00", None),
        ],
        extensions=[lim(3)],
    )
    assert d.suspended_working_days == 4
    assert d.extended_working_days == 3
    assert d.open_suspension is True


def test_as_json() -> None:
    """as_json gives ISO dates with +08:00 and the effective limit."""
    d = compute_deadline(at("2025-01-24 10:00"), lim(5), CAL, green_channel=True)
    j = d.as_json()
    assert j["due_date"] == "2025-02-05"
    assert j["due_at"] == "2025-02-05T23:59:59+08:00"
    assert j["warn_at"] == "2025-01-27T09:00:00+08:00"
    assert j["working_days"] == 3
    assert j["limit"] == {"value": 3, "unit": "working_days"}
    assert j["suspended_working_days"] == 0
    assert j["extended_working_days"] == 0


def test_start_in_utc_uses_the_beijing_date() -> None:
    """A UTC instant is accepted on its Beijing date (2025-03-03 17:00Z is 03-04 01:00)."""
    start = datetime(2025, 3, 3, 17, 0, tzinfo=ZoneInfo("UTC"))
    assert compute_deadline(start, lim(1), CAL).due_date == date(2025, 3, 5)


# --- hours ------------------------------------------------------------------------------------


def test_hours_suspended_over_a_weekend() -> None:
    """For hours, the suspended elapsed time is added to due_at."""
    d = compute_deadline(
        at("2025-03-07 16:00"),
        lim(24, H),
        CAL,
        suspensions=[sus("2025-03-07 18:00", "2025-03-10 09:00")],
    )
    assert d.due_at == at("2025-03-11 07:00")
    assert d.due_date == date(2025, 3, 11)
    assert d.suspended_working_days == 1  # Friday 3/7: [3/7, 3/10)


def test_hours_extensions() -> None:
    """Hours extend hours; a working-day extension keeps the time of day on the new date."""
    base = at("2025-09-30 10:00")
    assert compute_deadline(base, lim(8, H), CAL, extensions=[lim(4, H)]).due_at == at(
        "2025-09-30 22:00"
    )
    d = compute_deadline(base, lim(24, H), CAL, extensions=[lim(1)])
    assert d.due_at == at("2025-10-09 10:00")
    assert d.extended_working_days == 1


def test_hours_green_channel_rounds_up() -> None:
    """Green channel on 5 hours gives 3 hours."""
    d = compute_deadline(at("2025-03-03 10:00"), lim(5, H), CAL, green_channel=True)
    assert d.due_at == at("2025-03-03 13:00")
    assert d.limit == lim(3, H)


# --- warn_at ----------------------------------------------------------------------------------


def test_warn_one_working_day_before_at_office_start() -> None:
    """By default the yellow card comes at 09:00 on the working day before due_date."""
    d = compute_deadline(at("2025-09-22 10:00"), lim(20), CAL)
    assert d.due_date == date(2025, 10, 24)
    assert d.warn_at == at("2025-10-23 09:00")


def test_warn_skips_back_over_a_holiday() -> None:
    """The working day before 2025-02-05 is 2025-01-27, across the Spring Festival."""
    d = compute_deadline(at("2025-01-20 10:00"), lim(7), CAL)
    assert d.due_date == date(2025, 2, 5)
    assert d.warn_at == at("2025-01-27 09:00")


def test_warn_policy_days_and_office_start() -> None:
    """warn working_days and office_start come from the policy."""
    policy = WarnPolicy(working_days=3, office_start=time(8, 30))
    d = compute_deadline(at("2025-09-22 10:00"), lim(20), CAL, warn=policy)
    assert d.warn_at == at("2025-10-21 08:30")


def test_warn_never_before_start() -> None:
    """A deadline shorter than the warning period warns at the start itself."""
    d = compute_deadline(at("2025-09-30 10:00"), lim(1), CAL)
    assert d.warn_at == at("2025-09-30 10:00")
    d = compute_deadline(at("2025-10-03 10:00"), lim(1), CAL, warn=WarnPolicy(working_days=2))
    assert d.warn_at == at("2025-10-03 10:00")


def test_warn_hours_at_75_percent_of_unsuspended_time() -> None:
    """Hours warn when 75% of the limit has elapsed, not counting suspended time."""
    assert compute_deadline(at("2025-03-03 10:00"), lim(8, H), CAL).warn_at == at(
        "2025-03-03 16:00"
    )
    d = compute_deadline(
        at("2025-01-24 10:00"),
        lim(48, H),
        CAL,
        suspensions=[sus("2025-01-24 12:00", "2025-01-25 12:00")],
    )
    assert d.due_at == at("2025-01-27 10:00")
    assert d.warn_at == at("2025-01-26 22:00")


def test_warn_fraction_for_day_units() -> None:
    """With a fraction, day units warn when that share of start→due_at has elapsed."""
    d = compute_deadline(at("2025-03-03 00:00"), lim(4, CD), CAL, warn=WarnPolicy(fraction=0.5))
    assert d.due_at == at("2025-03-07 23:59") + timedelta(seconds=59)
    assert d.warn_at == at("2025-03-05 11:59") + timedelta(seconds=59.5)
    assert compute_deadline(
        at("2025-03-03 10:00"), lim(8, H), CAL, warn=WarnPolicy(fraction=0.5)
    ).warn_at == at("2025-03-03 14:00")


# --- input checks -----------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    """A naive start or suspension instant raises InputError."""
    with pytest.raises(InputError, match="UTC offset"):
        compute_deadline(datetime(2025, 3, 3, 10), lim(1), CAL)
    with pytest.raises(InputError):
        Suspension(start=datetime(2025, 3, 3), end=None)
    with pytest.raises(InputError):
        Suspension(start=at("2025-03-03 10:00"), end=datetime(2025, 3, 4))


def test_value_objects_validate() -> None:
    """Negative limits, backwards suspensions, unknown units and bad fractions are refused."""
    with pytest.raises(InputError):
        Limit(value=-1, unit=WD)
    with pytest.raises(InputError):
        Limit(value=True, unit=WD)
    with pytest.raises(InputError, match="unit"):
        Limit(value=1, unit="fortnights")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="before it starts"):
        sus("2025-03-04 10:00", "2025-03-03 10:00")
    with pytest.raises(InputError):
        WarnPolicy(fraction=1.5)
    with pytest.raises(InputError):
        WarnPolicy(working_days=-1)
    assert Limit(value=0, unit=WD).value == 0
    assert Limit.from_json({"value": 3, "unit": "hours"}) == lim(3, H)
    with pytest.raises(InputError):
        Limit.from_json({"value": 3})


def test_zero_working_days_is_due_on_the_acceptance_day() -> None:
    """A limit of 0 working days (即办件) is due on the acceptance date itself."""
    d = compute_deadline(at("2025-03-03 10:00"), lim(0), CAL)
    assert d.due_date == date(2025, 3, 3)
    assert d.working_days == 0


# --- properties ---------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2026, 12, 31, 23, 59), timezones=st.just(TZ)
)
day_units = st.sampled_from([WD, CD])
units = st.sampled_from([WD, CD, H])
values = st.integers(min_value=0, max_value=80)


@st.composite
def suspensions_after(draw: st.DrawFn, start: datetime) -> Suspension:
    lo = start + timedelta(hours=draw(st.integers(min_value=0, max_value=24 * 60)))
    hi = lo + timedelta(hours=draw(st.integers(min_value=0, max_value=24 * 30)))
    return Suspension(start=lo, end=hi)


def _compute(*args: Any, **kwargs: Any) -> Deadline | None:
    try:
        return compute_deadline(*args, **kwargs)
    except CalendarYearUnknown:
        return None


@given(starts, values, units, st.integers(min_value=1, max_value=20))
def test_more_time_is_never_earlier(start: datetime, n: int, unit: Unit, more: int) -> None:
    """A longer limit never falls due earlier."""
    a, b = _compute(start, lim(n, unit), CAL), _compute(start, lim(n + more, unit), CAL)
    if a is not None and b is not None:
        assert b.due_at >= a.due_at


@given(starts, st.integers(min_value=1, max_value=80), day_units)
def test_due_date_is_a_working_day(start: datetime, n: int, unit: Unit) -> None:
    """For day units the due date is always a working day."""
    d = _compute(start, lim(n, unit), CAL)
    if d is not None:
        assert CAL.is_working_day(d.due_date)
        assert d.start <= d.warn_at <= d.due_at


@given(st.data(), starts, values, units)
def test_suspension_never_earlier(data: st.DataObject, start: datetime, n: int, unit: Unit) -> None:
    """Adding a suspension never moves a deadline earlier."""
    extra = data.draw(suspensions_after(start))
    a, b = (
        _compute(start, lim(n, unit), CAL),
        _compute(start, lim(n, unit), CAL, suspensions=[extra]),
    )
    if a is not None and b is not None:
        assert b.due_at >= a.due_at
        assert b.start <= b.warn_at <= b.due_at


@given(starts, values, units, st.integers(min_value=0, max_value=30), units)
def test_extension_never_earlier(
    start: datetime, n: int, unit: Unit, m: int, ext_unit: Unit
) -> None:
    """An extension never moves a deadline earlier."""
    a = _compute(start, lim(n, unit), CAL)
    b = _compute(start, lim(n, unit), CAL, extensions=[lim(m, ext_unit)])
    if a is not None and b is not None:
        assert b.due_at >= a.due_at


@given(starts, values, units)
def test_green_channel_never_later(start: datetime, n: int, unit: Unit) -> None:
    """The green channel never makes a deadline later."""
    a, b = (
        _compute(start, lim(n, unit), CAL),
        _compute(start, lim(n, unit), CAL, green_channel=True),
    )
    if a is not None and b is not None:
        assert b.due_at <= a.due_at


SMALL = WorkingCalendar([CAL.year(2024), CAL.year(2025), CAL.year(2026)])


@given(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(TZ)
    ),
    values,
    units,
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
)
def test_adding_a_holiday_never_earlier(start: datetime, n: int, unit: Unit, day: date) -> None:
    """Turning any day into a day off never moves a deadline earlier."""
    year = SMALL.year(day.year)
    assume(day not in year.holidays)
    if day in year.make_up_workdays:
        make_up = {d: name for d, name in year.make_up_workdays.items() if d != day}
        holidays = dict(year.holidays)
    else:
        make_up = dict(year.make_up_workdays)
        holidays = {**year.holidays, day: "测试假日"}
    changed = SMALL.with_year(
        CalendarYear(year=year.year, holidays=holidays, make_up_workdays=make_up, source="test")
    )
    a, b = _compute(start, lim(n, unit), SMALL), _compute(start, lim(n, unit), changed)
    if a is not None and b is not None:
        assert b.due_at >= a.due_at


GAPPY = WorkingCalendar([CAL.year(2023), CAL.year(2025)])


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(TZ)
    ),
    st.integers(min_value=0, max_value=300),
    units,
)
def test_unknown_years_always_refused(start: datetime, n: int, unit: Unit) -> None:
    """A deadline is computed only when its whole span lies in loaded years; else it is refused."""
    refused: list[int] = []
    try:
        d = compute_deadline(start, lim(n, unit), GAPPY)
    except CalendarYearUnknown as exc:
        refused.append(exc.year)
    if refused:
        assert refused[0] not in GAPPY.years
        return
    assert start.astimezone(TZ).year == d.due_date.year
    assert d.due_date.year in GAPPY.years


@given(st.data(), starts, values, day_units)
def test_suspension_and_extension_order_does_not_matter(
    data: st.DataObject, start: datetime, n: int, unit: Unit
) -> None:
    """Shuffling suspensions and extensions gives the same deadline for day units."""
    suspensions = data.draw(st.lists(suspensions_after(start), max_size=4))
    extensions = data.draw(
        st.lists(st.builds(lim, st.integers(min_value=0, max_value=15), units), max_size=4)
    )
    a = _compute(start, lim(n, unit), CAL, suspensions=suspensions, extensions=extensions)
    b = _compute(
        start,
        lim(n, unit),
        CAL,
        suspensions=data.draw(st.permutations(suspensions)),
        extensions=data.draw(st.permutations(extensions)),
    )
    assert a == b


@given(st.data(), starts, values)
def test_suspension_shift_equals_counted_working_days(
    data: st.DataObject, start: datetime, n: int
) -> None:
    """One suspension S..R moves a working-day deadline by exactly count_working_days(S, R)."""
    extra = data.draw(suspensions_after(start))
    base = _compute(start, lim(n), CAL)
    moved = _compute(start, lim(n), CAL, suspensions=[extra])
    if base is None or moved is None:
        return
    assert extra.end is not None
    k = CAL.count_working_days(extra.start.astimezone(TZ).date(), extra.end.astimezone(TZ).date())
    assert moved.suspended_working_days == k
    assert moved.due_date == CAL.add_working_days(base.due_date, k)


@given(
    st.data(),
    starts,
    st.integers(min_value=0, max_value=24 * 60 - 1),
    values,
    units,
    st.sampled_from([WarnPolicy(), WarnPolicy(working_days=3), WarnPolicy(fraction=0.5)]),
)
def test_a_remembered_deadline_equals_a_fresh_one(
    data: st.DataObject,
    start: datetime,
    minute: int,
    n: int,
    unit: Unit,
    warn: WarnPolicy,
) -> None:
    """The deadline kept for an acceptance day is what a calendar computing it afresh gives,
    for any instant of that day (the warning never before it), with any suspensions."""

    def arguments() -> dict[str, Any]:
        return {
            "suspensions": data.draw(st.lists(suspensions_after(start), max_size=2)),
            "extensions": data.draw(
                st.lists(st.builds(lim, st.integers(min_value=0, max_value=15), units), max_size=2)
            ),
            "green_channel": data.draw(st.booleans()),
        }

    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    other = midnight + timedelta(minutes=minute)  # the same local day
    warmed = WorkingCalendar(CAL.year(y) for y in CAL.years)
    for seen in (arguments(), arguments()):  # fills the memo for the day
        _compute(start, lim(n, unit), warmed, warn=warn, **seen)
    args = arguments()
    fresh = WorkingCalendar(CAL.year(y) for y in CAL.years)
    assert _compute(other, lim(n, unit), warmed, warn=warn, **args) == _compute(
        other, lim(n, unit), fresh, warn=warn, **args
    )
