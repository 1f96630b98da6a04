"""Reminder rounds: a reviewer's due-soon reminders gathered at a few fixed times of the day.

Nodes turn yellow at any instant (an 8-hour node at 75% of its time, a node started
in the afternoon with one working day left at once). Sent as they turn, a busy
reviewer's phone buzzes all day, one case at a time. Held to the next *round*
(``policy.reminder_rounds``, by default 09:00, 11:00, 14:00 and 16:00 of a working
day), the reminders to one person that turned yellow since the last round go out
together, as one merged notice ("A、B等5件", contract: "Notices Cuiban sends").

A reminder waits for a round only while the round leaves the reviewer time to act:
it must come at least :data:`LEAD` before the deadline, or half the warning time if
that is shorter. Else the reminder goes as soon as it may (``ready``) — never at or
after the deadline, which the contract forbids.

Pure: the calendar and the instants come in, nothing is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.calendar import WorkingCalendar
from core.deadlines import require_aware

__all__ = ["LEAD", "SEARCH_DAYS", "due_soon_at", "next_round"]

LEAD = timedelta(hours=1)  # what a round must leave before the deadline, at most
SEARCH_DAYS = 40  # past the longest run of days off (the Spring Festival with its weekends)


def next_round(
    ready: datetime, rounds: Sequence[time], calendar: WorkingCalendar, *, tz: ZoneInfo
) -> datetime | None:
    """The first round at or after ``ready`` on a working day; None without rounds."""
    require_aware("ready", ready)
    if not rounds:
        return None
    local = ready.astimezone(tz)
    times = sorted(set(rounds))
    day: date = local.date()
    for _ in range(SEARCH_DAYS):
        if calendar.is_working_day(day):
            for moment in times:
                candidate = datetime.combine(day, moment, tz)
                if candidate >= ready:
                    return candidate
        day += timedelta(days=1)
    return None


def due_soon_at(
    ready: datetime,
    due_at: datetime,
    rounds: Sequence[time],
    calendar: WorkingCalendar,
    *,
    tz: ZoneInfo,
) -> datetime:
    """When a due-soon reminder that may go from ``ready`` goes: at the next round if that
    still leaves ``min(LEAD, (due_at - ready) / 2)`` before ``due_at``, else at ``ready``."""
    require_aware("due_at", due_at)
    found = next_round(ready, rounds, calendar, tz=tz)
    if found is None or ready >= due_at:
        return ready
    lead = min(LEAD, (due_at - ready) / 2)
    return found if found <= due_at - lead else ready
