"""When reminders fire and whom an overdue node escalates to — pure, time as a parameter.

The contract's schedule ("Notices Cuiban sends"):

- ``node_due_soon`` at the node's ``warn_at`` (yellow), to the assignee;
- ``node_overdue`` at ``office_start`` of the first working day after
  ``due_date`` to the assignee (hours: at ``due_at`` inside office hours, else
  the next ``office_start``), one working day later to the department head,
  one more to the supervisors, then daily to the supervisors until done, at
  most ``max_escalations`` notices in all;
- ``case_due_soon`` / ``case_overdue`` to the supervisors at the case's yellow/red;
- reviewer reminders that fall on a non-working day wait for the next working
  day; every notice waits out the recipient's quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.calendar import WorkingCalendar
from core.deadlines import require_aware
from core.errors import InputError


class Rung(StrEnum):
    """Who an escalation step goes to."""

    ASSIGNEE = "assignee"
    HEAD = "head"
    SUPERVISORS = "supervisors"


def escalation_rung(step: int) -> Rung:
    """Step 0 goes to the assignee, step 1 to the head, every later step to the supervisors."""
    if step < 0:
        raise InputError("an escalation step is never negative")
    return (Rung.ASSIGNEE, Rung.HEAD)[step] if step < 2 else Rung.SUPERVISORS


def escalation_at(
    due_date: date,
    step: int,
    calendar: WorkingCalendar,
    *,
    office_start: time,
    tz: ZoneInfo,
) -> datetime:
    """Office start on the (step+1)-th working day after ``due_date``."""
    day = calendar.add_working_days(due_date, step + 1)
    return datetime.combine(day, office_start, tz)


def overdue_at(
    due_at: datetime,
    calendar: WorkingCalendar,
    *,
    day_unit: bool,
    office_start: time,
    tz: ZoneInfo,
    office_end: time | None = None,
) -> datetime:
    """When the first overdue notice fires.

    Day units: office start of the first working day after the due date. Hours:
    the due instant itself when it falls inside office hours (``office_start`` to
    ``office_end`` of a working day), else the next office start — a 4-hour node
    due at 20:00 is chased at 09:00 the next working day, not at 07:30.
    Without ``office_end`` any moment of a working day counts as office hours.
    """
    require_aware("due_at", due_at)
    if day_unit:
        return escalation_at(
            due_at.astimezone(tz).date(), 0, calendar, office_start=office_start, tz=tz
        )
    local = due_at.astimezone(tz)
    day, moment = local.date(), local.time().replace(tzinfo=None)
    if calendar.is_working_day(day):
        if moment < office_start:
            return datetime.combine(day, office_start, tz)
        if office_end is None or moment <= office_end:
            return due_at
    return datetime.combine(calendar.add_working_days(day, 1), office_start, tz)


def escalation_from(
    first_day: date, step: int, calendar: WorkingCalendar, *, office_start: time, tz: ZoneInfo
) -> datetime:
    """Office start on the ``step``-th working day after ``first_day``, the day step 0 fired.

    For day units ``first_day`` is the first working day after the due date, so this
    equals :func:`escalation_at`; for hours it is the day of :func:`overdue_at`, so the
    head hears one working day after the assignee whatever the hour of the deadline.
    """
    return datetime.combine(calendar.add_working_days(first_day, step), office_start, tz)


def on_working_day(
    instant: datetime, calendar: WorkingCalendar, *, office_start: time, tz: ZoneInfo
) -> datetime:
    """``instant`` if its local date is a working day, else office start of the next one."""
    require_aware("instant", instant)
    local = instant.astimezone(tz)
    if calendar.is_working_day(local.date()):
        return instant
    day = calendar.next_working_day_on_or_after(local.date())
    return datetime.combine(day, office_start, tz)


@dataclass(frozen=True, kw_only=True)
class QuietHours:
    """A nightly window (e.g. 22:00–07:30) when non-urgent notices wait."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """``"22:00-07:30"``; an empty string means no quiet hours."""
        if not text:
            return None
        try:
            first, second = text.split("-")
            return cls(start=time.fromisoformat(first), end=time.fromisoformat(second))
        except ValueError as exc:
            raise InputError(f"quiet hours {text!r} must look like 22:00-07:30") from exc

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def release(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """``instant``, or the end of the quiet window it falls in."""
        require_aware("instant", instant)
        local = instant.astimezone(tz)
        if not self.contains(local.time().replace(tzinfo=None)):
            return instant
        end = datetime.combine(local.date(), self.end, tz)
        if end <= local:
            end += timedelta(days=1)
        return end
