"""A rectification's two deadlines, from the same working-day engine as node limits.

Counted like a node's working-day limit: the day it opens is not counted, the
due date is the N-th working day after it, due at 23:59:59; yellow from 09:00
the policy's warning day before. A case's suspension does not apply: the case
is closed by the time it is rated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.calendar import WorkingCalendar
from core.deadlines import Deadline, Limit, Unit, WarnPolicy, compute_deadline
from core.errors import CalendarYearUnknown
from hub.settings import PolicySettings


@dataclass(frozen=True, kw_only=True)
class Deadlines:
    """Verify (回访核实) and answer (整改答复); None for one the calendar cannot compute."""

    verify: Deadline | None
    rectify: Deadline | None

    @property
    def provisional(self) -> bool:
        """Either rests on the provisional next year (its official calendar not yet imported)."""
        return any(d is not None and d.provisional for d in (self.verify, self.rectify))


def deadlines_for(
    opened_at: datetime, policy: PolicySettings, calendar: WorkingCalendar, tz: ZoneInfo
) -> Deadlines:
    warn = WarnPolicy(working_days=policy.warn_working_days, office_start=policy.office_start)
    found: dict[str, Deadline | None] = {}
    for name, days in (
        ("verify", policy.rectification.verify_working_days),
        ("rectify", policy.rectification.rectify_working_days),
    ):
        try:
            found[name] = compute_deadline(
                opened_at,
                Limit(value=days, unit=Unit.WORKING_DAYS),
                calendar,
                warn=warn,
                tz=tz,
            )
        except CalendarYearUnknown:
            found[name] = None  # kept open without a deadline; readyz names the missing year
    return Deadlines(verify=found["verify"], rectify=found["rectify"])
