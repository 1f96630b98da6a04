"""Reminder rounds: due-soon reminders held to fixed times of a working day — examples and
properties (never before the reminder may go, never at or after the deadline)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from core.calendar import WorkingCalendar
from core.rounds import LEAD, due_soon_at, next_round

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar.from_year_files(
    p.read_text("utf-8")
    for p in sorted((Path(__file__).parents[3] / "config" / "calendars").glob("*.toml"))
)
ROUNDS = (time(9, 0), time(11, 0), time(14, 0), time(16, 0))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_a_reminder_waits_for_the_next_round_of_the_day() -> None:
    """Yellow at 10:10 on a working day, due tomorrow night: it goes at 11:00."""
    ready = at("2026-09-22T10:10")
    assert due_soon_at(ready, at("2026-09-23T23:59:59"), ROUNDS, CALENDAR, tz=TZ) == at(
        "2026-09-22T11:00"
    )


def test_after_the_last_round_it_waits_for_the_first_round_of_the_next_working_day() -> None:
    """Yellow Wednesday 30 Sept 16:30 (National Day, 1-7 Oct, follows): Thursday 8 Oct 09:00."""
    ready = at("2026-09-30T16:30")
    due = at("2026-10-09T23:59:59")
    assert due_soon_at(ready, due, ROUNDS, CALENDAR, tz=TZ) == at("2026-10-08T09:00")


def test_a_make_up_saturday_has_rounds() -> None:
    """Saturday 10 Oct 2026 is a 调休 workday: its rounds count; Sunday 11 Oct's do not."""
    assert next_round(at("2026-10-10T08:00"), ROUNDS, CALENDAR, tz=TZ) == at("2026-10-10T09:00")
    assert next_round(at("2026-10-10T16:01"), ROUNDS, CALENDAR, tz=TZ) == at("2026-10-12T09:00")


def test_a_reminder_that_cannot_wait_goes_when_ready() -> None:
    """A 4-hour node yellow at 13:10 and due at 14:10: 14:00 would leave ten minutes."""
    ready = at("2026-09-22T13:10")
    assert due_soon_at(ready, at("2026-09-22T14:10"), ROUNDS, CALENDAR, tz=TZ) == ready


def test_a_round_that_leaves_half_the_warning_time_is_kept() -> None:
    """A 4-hour node yellow at 10:40 and due at 11:40: 11:00 leaves 40 of its 60 minutes."""
    ready = at("2026-09-22T10:40")
    assert due_soon_at(ready, at("2026-09-22T11:40"), ROUNDS, CALENDAR, tz=TZ) == at(
        "2026-09-22T11:00"
    )


def test_a_ready_instant_on_a_round_goes_at_once() -> None:
    """Day-unit nodes turn yellow at 09:00, a round: nothing waits."""
    ready = at("2026-09-22T09:00")
    assert due_soon_at(ready, at("2026-09-23T23:59:59"), ROUNDS, CALENDAR, tz=TZ) == ready


def test_without_rounds_every_reminder_goes_when_ready() -> None:
    """``policy.reminder_rounds = []``: the reminders go as they fall due, as before."""
    ready = at("2026-09-22T10:10")
    assert due_soon_at(ready, at("2026-09-23T23:59:59"), (), CALENDAR, tz=TZ) == ready
    assert next_round(ready, (), CALENDAR, tz=TZ) is None


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20), timezones=st.just(TZ)
)
windows = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=5))
round_sets = st.lists(st.times().map(lambda t: t.replace(second=0, microsecond=0)), max_size=6).map(
    tuple
)


@given(ready=instants, window=windows, rounds=round_sets)
def test_never_before_ready_never_at_or_after_the_deadline(
    ready: datetime, window: timedelta, rounds: tuple[time, ...]
) -> None:
    """The reminder goes at ``ready`` or later, and before the deadline."""
    due = ready + window
    sent = due_soon_at(ready, due, rounds, CALENDAR, tz=TZ)
    assert ready <= sent < due


@given(ready=instants, window=windows, rounds=round_sets)
def test_a_held_reminder_goes_at_a_round_of_a_working_day_leaving_time_to_act(
    ready: datetime, window: timedelta, rounds: tuple[time, ...]
) -> None:
    """When held, it goes at a round time of a working day and leaves min(LEAD, half) to act."""
    due = ready + window
    sent = due_soon_at(ready, due, rounds, CALENDAR, tz=TZ)
    if sent != ready:
        local = sent.astimezone(TZ)
        assert local.time() in rounds
        assert CALENDAR.is_working_day(local.date())
        assert due - sent >= min(LEAD, window / 2)


@given(ready=instants, rounds=round_sets.filter(bool))
def test_the_next_round_is_the_first_one(ready: datetime, rounds: tuple[time, ...]) -> None:
    """No round of a working day lies between ``ready`` and the round found."""
    found = next_round(ready, rounds, CALENDAR, tz=TZ)
    assert found is not None and found >= ready
    day = ready.astimezone(TZ).date()
    while day <= found.astimezone(TZ).date():
        if CALENDAR.is_working_day(day):
            for moment in rounds:
                candidate = datetime.combine(day, moment, TZ)
                assert not ready <= candidate < found
        day += timedelta(days=1)
