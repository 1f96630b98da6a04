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
    assert released - instant <= timedelta(hours=9, minutes=30)  # 22:00 sharp waits it all
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


END = time(17, 30)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        ("2026-03-03T13:00", "2026-03-03T13:00"),  # inside office hours: at the deadline
        ("2026-03-03T17:30", "2026-03-03T17:30"),  # office end itself is still office hours
        ("2026-03-03T20:00", "2026-03-04T09:00"),  # evening: next office start, not 07:30
        ("2026-03-03T07:00", "2026-03-03T09:00"),  # early morning: that day's office start
        ("2026-03-06T23:00", "2026-03-09T09:00"),  # Friday night: Monday
        ("2026-09-30T18:00", "2026-10-08T09:00"),  # before 国庆节: after it
    ],
)
def test_hours_deadlines_are_chased_in_office_hours(due: str, expected: str) -> None:
    """An hours node is overdue at due_at inside office_start–office_end, else the next start."""
    due_at = datetime.fromisoformat(due).replace(tzinfo=TZ)
    assert overdue_at(
        due_at, CALENDAR, day_unit=False, office_start=NINE, office_end=END, tz=TZ
    ) == datetime.fromisoformat(expected).replace(tzinfo=TZ)


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),
)
def test_an_hours_overdue_notice_fires_in_office_hours_never_before_the_deadline(
    naive: datetime,
) -> None:
    """Whatever the deadline, the first overdue notice is at or after it, on a working day,
    between office start and office end."""
    due_at = naive.replace(tzinfo=TZ)
    fired = overdue_at(due_at, CALENDAR, day_unit=False, office_start=NINE, office_end=END, tz=TZ)
    local = fired.astimezone(TZ)
    assert fired >= due_at
    assert CALENDAR.is_working_day(local.date())
    assert NINE <= local.time().replace(tzinfo=None) <= END
