"""Deadline arithmetic: when a limit accepted at an instant falls due, and when to warn.

The rules are the contract's "Deadline rules" (docs: /work/shared/contract.md):

- working days N accepted on local date A: the acceptance day is not counted; due on the
  N-th working day after A (行政许可法 Art. 82: 期限以工作日计算，不含法定节假日).
- calendar days N: A + N days, moved to the next working day when that is a day off
  (民法典 Art. 203: 期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日).
- hours N: N hours of elapsed time.
- suspensions (听证、专家评审、检验检测 — 行政许可法 Art. 45: not counted in the limit) and
  extensions (Art. 42) move the due date by whole working days; green channel halves the
  limit (rounded up).

Pure: ``now`` and the calendar are parameters; nothing here reads a clock or a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from core.calendar import WorkingCalendar
from core.errors import CalendarYearUnknown, InputError

__all__ = [
    "DEFAULT_TZ",
    "Deadline",
    "Limit",
    "Suspension",
    "Unit",
    "WarnPolicy",
    "compute_deadline",
    "require_aware",
]

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
#: Largest accepted limit or extension value (a sanity bound; ~114 years of hours).
MAX_LIMIT_VALUE = 1_000_000
_END_OF_DAY = time(23, 59, 59)
_HOURS_WARN_FRACTION = 0.75  # contract: hours limits warn when 75% of the time has elapsed


def require_aware(name: str, value: datetime) -> datetime:
    """Return ``value`` if it is an aware datetime, else raise InputError naming ``name``."""
    if not isinstance(value, datetime):
        raise InputError(f"{name} must be a datetime, not {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{name} must carry a UTC offset (got naive {value.isoformat()})")
    return value


class Unit(StrEnum):
    """The unit a limit is counted in."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    HOURS = "hours"


@dataclass(frozen=True, kw_only=True)
class Limit:
    """A time limit: ``value`` (>= 0) ``unit``s."""

    value: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise InputError(f"a limit's value must be an integer, not {self.value!r}")
        if not 0 <= self.value <= MAX_LIMIT_VALUE:
            raise InputError(f"a limit's value must be between 0 and {MAX_LIMIT_VALUE}")
        try:
            object.__setattr__(self, "unit", Unit(self.unit))
        except ValueError:
            units = ", ".join(u.value for u in Unit)
            raise InputError(f"unknown limit unit {self.unit!r}; use one of {units}") from None

    @classmethod
    def from_json(cls, obj: object) -> Limit:
        """A limit from ``{"value": int, "unit": "working_days"|"calendar_days"|"hours"}``."""
        if not isinstance(obj, dict) or set(obj) != {"value", "unit"}:
            raise InputError('a limit is {"value": int, "unit": str}')
        return cls(value=obj["value"], unit=obj["unit"])

    def as_json(self) -> dict[str, object]:
        """``{"value": n, "unit": "..."}``."""
        return {"value": self.value, "unit": self.unit.value}

    def halved(self) -> Limit:
        """The green-channel limit: ceil(value / 2) in the same unit."""
        return Limit(value=math.ceil(self.value / 2), unit=self.unit)


@dataclass(frozen=True, kw_only=True)
class Suspension:
    """The clock stopped from ``start`` until ``end`` (None: still suspended)."""

    start: datetime
    end: datetime | None

    def __post_init__(self) -> None:
        require_aware("suspension start", self.start)
        if self.end is not None:
            require_aware("suspension end", self.end)
            if self.end < self.start:
                raise InputError(
                    f"a suspension cannot end ({self.end.isoformat()}) "
                    f"before it starts ({self.start.isoformat()})"
                )


@dataclass(frozen=True, kw_only=True)
class WarnPolicy:
    """When the yellow card comes: ``working_days`` before due at ``office_start``, or at a
    ``fraction`` of the (unsuspended) time; hours limits default to 75%."""

    working_days: int = 1
    fraction: float | None = None
    office_start: time = time(9, 0)

    def __post_init__(self) -> None:
        if isinstance(self.working_days, bool) or not isinstance(self.working_days, int):
            raise InputError(f"warn working_days must be an integer, not {self.working_days!r}")
        if self.working_days < 0:
            raise InputError("warn working_days must not be negative")
        if self.fraction is not None and not 0.0 <= self.fraction <= 1.0:
            raise InputError(f"warn fraction must be between 0 and 1, not {self.fraction!r}")
        if self.office_start.tzinfo is not None:
            raise InputError("office_start is a local wall-clock time; give it without a zone")


@dataclass(frozen=True, kw_only=True)
class Deadline:
    """A computed deadline; ``limit`` is the effective one (after the green channel)."""

    start: datetime
    limit: Limit
    due_date: date
    due_at: datetime
    warn_at: datetime
    working_days: int
    suspended_working_days: int
    extended_working_days: int
    open_suspension: bool
    green_channel: bool = False
    #: The span reaches a year computed from the statutory holidays alone (no 调休 yet).
    provisional: bool = False

    def __post_init__(self) -> None:
        for name in ("start", "due_at", "warn_at"):
            require_aware(name, getattr(self, name))

    def as_json(self) -> dict[str, object]:
        """The JSON object `cuiban deadline` prints and the API shows."""
        return {
            "start": self.start.isoformat(),
            "due_date": self.due_date.isoformat(),
            "due_at": self.due_at.isoformat(),
            "warn_at": self.warn_at.isoformat(),
            "working_days": self.working_days,
            "limit": self.limit.as_json(),
            "suspended_working_days": self.suspended_working_days,
            "extended_working_days": self.extended_working_days,
            "open_suspension": self.open_suspension,
            "green_channel": self.green_channel,
            "provisional": self.provisional,
        }


# --- helpers ----------------------------------------------------------------------------


def _plus_days(calendar: WorkingCalendar, day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise CalendarYearUnknown(date.max.year + 1, _known(calendar)) from None


def _known(calendar: WorkingCalendar) -> tuple[int, int] | None:
    return (calendar.years[0], calendar.years[-1]) if calendar.years else None


def _merge(intervals: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Union of half-open intervals, sorted: overlapping suspensions count once."""
    merged: list[tuple[Any, Any]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _fraction_instant(
    start: datetime, due_at: datetime, suspended: list[tuple[datetime, datetime]], f: float
) -> datetime:
    """The instant when ``f`` of the unsuspended time between start and due_at has passed."""
    clipped = [(max(s, start), min(e, due_at)) for s, e in suspended]
    clipped = [(s, e) for s, e in clipped if e > s]
    active = (due_at - start) - sum((e - s for s, e in clipped), timedelta())
    remaining = active * f
    moment = start
    for s, e in clipped:
        if s - moment >= remaining:
            break
        remaining -= s - moment
        moment = e
    return moment + remaining


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)


# --- the computation --------------------------------------------------------------------


def compute_deadline(
    start: datetime,
    limit: Limit,
    calendar: WorkingCalendar,
    *,
    suspensions: Sequence[Suspension] = (),
    extensions: Sequence[Limit] = (),
    green_channel: bool = False,
    warn: WarnPolicy = WarnPolicy(),  # frozen value object: safe as a default
    tz: ZoneInfo = DEFAULT_TZ,
) -> Deadline:
    """Compute the deadline of ``limit`` accepted at ``start`` (see the module docstring).

    Suspensions and extensions are applied in a fixed order (working-day shifts summed,
    then calendar days), so their order in the arguments never matters. Raises
    CalendarYearUnknown when any day of the span lies in a year the calendar lacks.
    """
    require_aware("start", start)
    effective = limit.halved() if green_channel else limit
    local_start = start.astimezone(tz)
    accepted_on = local_start.date()
    # Acceptance day counted from: the calendar must know it whatever the limit.
    if not calendar.knows(accepted_on):
        raise CalendarYearUnknown(accepted_on.year, _known(calendar))

    closed, open_suspension, day_ranges, suspended_wd = _suspended(suspensions, start, calendar, tz)
    ext_working = ext_calendar = ext_hours = 0
    for e in extensions:
        if e.unit is Unit.WORKING_DAYS:
            ext_working += e.value
        elif e.unit is Unit.CALENDAR_DAYS:
            ext_calendar += e.value
        else:
            ext_hours += e.value

    if effective.unit is Unit.HOURS:
        due_date, due_at, before_days_ext = _hours_due(
            start,
            accepted_on,
            effective,
            closed,
            calendar,
            tz,
            ext_working,
            ext_calendar,
            ext_hours,
        )
        dated = _dated(
            calendar, accepted_on, due_date, before_days_ext, warn_day=None, due_at=due_at
        )
    else:
        # Everything but the start instant follows from the acceptance day: a centre's cases
        # share a handful of days and limits, so the answer is kept per calendar.
        key = (
            "deadline",
            accepted_on,
            effective,
            tuple(day_ranges),
            ext_working,
            ext_calendar,
            ext_hours,
            warn.working_days if warn.fraction is None else None,
            warn.office_start,
            tz,
        )
        dated = calendar.remembered(
            key,
            lambda: _day_units_due(
                accepted_on,
                effective,
                suspended_wd,
                calendar,
                tz,
                ext_working,
                ext_calendar,
                ext_hours,
                warn,
            ),
        )
        due_date, due_at = dated.due_date, dated.due_at

    # Warning instant (contract "Levels"): never before start, never after due_at.
    if effective.unit is Unit.HOURS or warn.fraction is not None:
        fraction = _HOURS_WARN_FRACTION if warn.fraction is None else warn.fraction
        warn_at = _fraction_instant(start.astimezone(UTC), due_at, closed, fraction)
    elif dated.warn_at is None:
        warn_at = start  # fewer working days than the warning period: warn at once
    else:
        warn_at = dated.warn_at
    warn_at = min(max(warn_at, start), due_at).astimezone(tz)

    return Deadline(
        start=start,
        limit=effective,
        due_date=due_date,
        due_at=due_at,
        warn_at=warn_at,
        working_days=dated.working_days,
        suspended_working_days=suspended_wd,
        extended_working_days=dated.extended_working_days,
        open_suspension=open_suspension,
        green_channel=green_channel,
        provisional=dated.provisional,
    )


@dataclass(frozen=True, slots=True)
class _Dated:
    """The part of a deadline that follows from dates alone."""

    due_date: date
    due_at: datetime
    warn_at: datetime | None  # at office start on the warning day; None: at once
    working_days: int
    extended_working_days: int
    provisional: bool


def _hours_due(
    start: datetime,
    accepted_on: date,
    effective: Limit,
    closed: list[tuple[datetime, datetime]],
    calendar: WorkingCalendar,
    tz: ZoneInfo,
    ext_working: int,
    ext_calendar: int,
    ext_hours: int,
) -> tuple[date, datetime, date]:
    """Due date, due instant and the due date before day extensions of an hours limit."""
    suspended_time = sum((r - s for s, r in closed), timedelta())
    elapsed = timedelta(hours=effective.value + ext_hours) + suspended_time
    try:
        due_at = (start.astimezone(UTC) + elapsed).astimezone(tz)
    except OverflowError:
        raise CalendarYearUnknown(date.max.year + 1, _known(calendar)) from None
    before_days_ext = due_at.date()
    # A day-unit extension of an hours limit keeps the time of day (contract).
    if ext_working:
        due_at = _at(calendar.add_working_days(due_at.date(), ext_working), due_at.timetz(), tz)
    if ext_calendar:
        day = _plus_days(calendar, due_at.date(), ext_calendar)
        due_at = _at(calendar.next_working_day_on_or_after(day), due_at.timetz(), tz)
    due_date = due_at.date()
    # The whole span must lie in known years even though hours ignore holidays.
    calendar.count_working_days(accepted_on, due_date + timedelta(days=1))
    return due_date, due_at, before_days_ext


def _day_units_due(
    accepted_on: date,
    effective: Limit,
    suspended_wd: int,
    calendar: WorkingCalendar,
    tz: ZoneInfo,
    ext_working: int,
    ext_calendar: int,
    ext_hours: int,
    warn: WarnPolicy,
) -> _Dated:
    if effective.unit is Unit.WORKING_DAYS:
        # 行政许可法 Art. 82 (工作日) and the contract: the acceptance day is not counted.
        base = calendar.add_working_days(accepted_on, effective.value)
    else:
        # Calendar days: a period ending on a day off ends on the next working day.
        base = calendar.next_working_day_on_or_after(
            _plus_days(calendar, accepted_on, effective.value)
        )
    shifted = calendar.add_working_days(base, suspended_wd)
    due_date = calendar.add_working_days(shifted, ext_working)
    # An hours extension of a day limit counts as whole days (rounded up).
    extra_days = ext_calendar + math.ceil(ext_hours / 24)
    if extra_days:
        due_date = calendar.next_working_day_on_or_after(_plus_days(calendar, due_date, extra_days))
    warn_day: date | None = None
    if warn.fraction is None and calendar.count_working_days(accepted_on, due_date) >= (
        warn.working_days
    ):
        warn_day = calendar.subtract_working_days(due_date, warn.working_days)
    return _dated(calendar, accepted_on, due_date, shifted, warn_day=warn_day, tz=tz, warn=warn)


def _dated(
    calendar: WorkingCalendar,
    accepted_on: date,
    due_date: date,
    before_days_ext: date,
    *,
    warn_day: date | None,
    tz: ZoneInfo = DEFAULT_TZ,
    warn: WarnPolicy = WarnPolicy(),  # frozen value object: safe as a default
    due_at: datetime | None = None,
) -> _Dated:
    one = timedelta(days=1)
    return _Dated(
        due_date=due_date,
        due_at=due_at or _at(due_date, _END_OF_DAY, tz),
        warn_at=None if warn_day is None else _at(warn_day, warn.office_start, tz),
        working_days=calendar.count_working_days(accepted_on + one, due_date + one),
        extended_working_days=calendar.count_working_days(before_days_ext + one, due_date + one),
        provisional=calendar.spans_provisional(accepted_on, due_date),
    )


def _suspended(
    suspensions: Sequence[Suspension], start: datetime, calendar: WorkingCalendar, tz: ZoneInfo
) -> tuple[list[tuple[datetime, datetime]], bool, list[tuple[date, date]], int]:
    """Closed suspensions (UTC, merged), whether one is open, their local day ranges (merged)
    and the working days those cover."""
    if not suspensions:  # most deadlines: nothing to merge
        return [], False, [], 0
    # Suspensions: clipped to the case's start (time before acceptance was never running).
    closed: list[tuple[datetime, datetime]] = []
    open_suspension = False
    for suspension in suspensions:
        if suspension.end is None:
            open_suspension = True  # does not move the date: the hub freezes the level
            continue
        lo = max(suspension.start, start).astimezone(UTC)
        hi = suspension.end.astimezone(UTC)
        if hi > lo:
            closed.append((lo, hi))
    closed = _merge(closed)
    # K = working days in [S, R): the suspension day is not counted against the limit,
    # the resumption day is (contract; 行政许可法 Art. 45).
    day_ranges = _merge([(s.astimezone(tz).date(), r.astimezone(tz).date()) for s, r in closed])
    suspended_wd = sum(calendar.count_working_days(s, r) for s, r in day_ranges)
    return closed, open_suspension, day_ranges, suspended_wd
