"""When held notices will go: the line ``cuiban serve`` prints outside office hours.

Reviewers are reminded on working days outside quiet hours; applicants' notices
wait out quiet hours only (:class:`hub.notices.recipients.Routing`). Started on a
Saturday night, a hub sends nothing for a while — this says until when, and why.
"""

from __future__ import annotations

from datetime import datetime

from hub.notices.recipients import Routing

__all__ = ["hold_note"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _at(instant: datetime, routing: Routing) -> str:
    local = instant.astimezone(routing.tz)
    return f"{_DAYS[local.weekday()]} {local:%Y-%m-%d %H:%M}"


def hold_note(routing: Routing, now: datetime) -> str | None:
    """One sentence on when notices held at ``now`` will go, or None when they go at once."""
    policy = routing.settings.policy
    quiet = routing.default_quiet
    applicants = routing.applicant_time(now)
    reviewers = routing.reviewer_time(now, quiet)
    if applicants <= now and reviewers <= now:
        return None
    reasons = []
    if quiet is not None and quiet.release(now, routing.tz) > now:
        reasons.append(f"quiet hours {policy.quiet_hours}")
    if not routing.calendar.is_working_day(now.astimezone(routing.tz).date()):
        reasons.append(
            f"not a working day; reviewers from office start {policy.office_start:%H:%M}"
        )
    parts = []
    if applicants > now:
        parts.append(f"applicants' notices from {_at(applicants, routing)}")
    else:
        parts.append("applicants' notices now")
    parts.append(f"reviewers' reminders from {_at(reviewers, routing)}")
    return f"It is {_at(now, routing)} ({'; '.join(reasons)}): " + ", ".join(parts) + "."
