"""Reminder timing: escalation ladder, working days, quiet hours — pure, with properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.calendar import WorkingCalendar
from core.errors import InputError
from core.reminders import (
    QuietHours,
    Rung,
    escalation_at,
    escalation_rung,
    on_working_day,
    overdue_at,
)

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar.from_year_files(
    p.read_text("utf-8")
    for p in sorted((Path(__file__).parents[3] / "config" / "calendars").glob("*.toml"))
)
NINE = time(9, 0)


def test_ladder_goes_assignee_head_then_supervisors() -> None:
    """Step 0 is the assignee, 1 the head, and every later step the supervisors."""
    assert [escalation_rung(s) for s in range(5)] == [
        Rung.ASSIGNEE,
        Rung.HEAD,
        Rung.SUPERVISORS,
        Rung.SUPERVISORS,
        Rung.SUPERVISORS,
    ]
    with pytest.raises(InputError):
        escalation_rung(-1)


@pytest.mark.parametrize(
    ("due", "step", "expected"),
    [
        (date(2026, 5, 8), 0, date(2026, 5, 9)),  # the 调休 Saturday after 劳动节 is a working day
        (date(2026, 5, 8), 1, date(2026, 5, 11)),
        (date(2026, 9, 30), 0, date(2026, 10, 8)),  # across 国庆节
        (date(2026, 2, 13), 0, date(2026, 2, 14)),  # 春节调休 Saturday
        (date(2026, 2, 14), 0, date(2026, 2, 24)),  # then the Spring Festival holiday
    ],
)
def test_escalations_fire_at_office_start_of_working_days(
    due: date, step: int, expected: date
) -> None:
    """Overdue notices go out at office start on the working days after the due date."""
    assert escalation_at(due, step, CALENDAR, office_start=NINE, tz=TZ) == datetime.combine(
        expected, NINE, TZ
    )


def test_hours_limits_are_overdue_at_the_due_instant_on_a_working_day() -> None:
    """An hours deadline is overdue at its instant; on a day off, at the next office start."""
    weekday = datetime(2026, 3, 3, 15, 30, tzinfo=TZ)
    assert overdue_at(weekday, CALENDAR, day_unit=False, office_start=NINE, tz=TZ) == weekday
    saturday = datetime(2026, 3, 7, 15, 30, tzinfo=TZ)
    assert overdue_at(saturday, CALENDAR, day_unit=False, office_start=NINE, tz=TZ) == datetime(
        2026, 3, 9, 9, 0, tzinfo=TZ
    )


days_2026 = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 11, 30))


@given(days_2026, st.integers(min_value=0, max_value=6))
def test_escalation_steps_are_working_days_one_after_another(due: date, step: int) -> None:
    """Every step lands on a working day, strictly after the due date and after the step before."""
    here = escalation_at(due, step, CALENDAR, office_start=NINE, tz=TZ)
    assert CALENDAR.is_working_day(here.date()) and here.date() > due
    if step:
        before = escalation_at(due, step - 1, CALENDAR, office_start=NINE, tz=TZ)
        assert CALENDAR.count_working_days(before.date(), here.date()) == 1


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 11, 30)))
def test_on_working_day_never_moves_earlier_and_lands_on_a_working_day(naive: datetime) -> None:
    """Reviewer reminders only ever wait, and always for a working day."""
    instant = naive.replace(tzinfo=TZ)
    moved = on_working_day(instant, CALENDAR, office_start=NINE, tz=TZ)
    assert moved >= instant or moved.date() > instant.date()
    assert CALENDAR.is_working_day(moved.astimezone(TZ).date())


QUIET = QuietHours.parse("22:00-07:30")


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 30)))
def test_quiet_hours_release_outside_the_window_and_never_earlier(naive: datetime) -> None:
    """A notice in the quiet window waits exactly until 07:30; outside it, it goes at once."""
    assert QUIET is not None
    instant = naive.replace(tzinfo=TZ)
    released = QUIET.release(instant, TZ)
    assert released >= instant
    assert not QUIET.contains(released.timetz().replace(tzinfo=None))
    assert released - instant < timedelta(hours=9, minutes=30)
    if QUIET.contains(instant.time()):
        assert released.time() == time(7, 30)
    else:
        assert released == instant


def test_quiet_hours_parse() -> None:
    """Quiet hours parse from text; empty means none; garbage is refused."""
    assert QuietHours.parse("") is None
    day = QuietHours.parse("12:00-13:30")
    assert day is not None and day.contains(time(12, 45)) and not day.contains(time(13, 30))
    with pytest.raises(InputError):
        QuietHours.parse("late")
