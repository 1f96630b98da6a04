"""The statutory stages of an administrative licence (中华人民共和国行政许可法).

- acceptance: decide whether to accept within 5 working days of the application
  (Art. 32: 五日内一次告知需要补正的全部内容，逾期不告知的，自收到申请材料之日起即为受理);
- decision: within 20 working days of acceptance, +10 with the approval of the office's
  head (Art. 42);
- issue: the permit issued or served within 10 working days of the decision (Art. 44).

All counted in working days, holidays excluded (Art. 82).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from core.calendar import WorkingCalendar
from core.deadlines import DEFAULT_TZ, Limit, Unit, compute_deadline

__all__ = [
    "STATUTORY_EXTENSION",
    "STATUTORY_LIMITS",
    "Stage",
    "exceeds_statutory",
    "statutory_limit",
]


class Stage(StrEnum):
    """A statutory stage of a licence case."""

    ACCEPTANCE = "acceptance"  # Art. 32: 5 working days from application to acceptance
    DECISION = "decision"  # Art. 42: 20 working days, +10 with approval
    ISSUE = "issue"  # Art. 44: permit issued within 10 working days of the decision


STATUTORY_LIMITS: Mapping[Stage, Limit] = MappingProxyType(
    {
        Stage.ACCEPTANCE: Limit(value=5, unit=Unit.WORKING_DAYS),
        Stage.DECISION: Limit(value=20, unit=Unit.WORKING_DAYS),
        Stage.ISSUE: Limit(value=10, unit=Unit.WORKING_DAYS),
    }
)

#: Art. 42: 二十日内不能作出决定的，经本行政机关负责人批准，可以延长十日.
STATUTORY_EXTENSION = Limit(value=10, unit=Unit.WORKING_DAYS)


def statutory_limit(stage: Stage, *, extended: bool = False) -> Limit:
    """The statutory limit of ``stage``; ``extended`` adds Art. 42's 10 days to the decision."""
    limit = STATUTORY_LIMITS[stage]
    if extended and stage is Stage.DECISION:
        return Limit(value=limit.value + STATUTORY_EXTENSION.value, unit=limit.unit)
    return limit


def exceeds_statutory(
    start: datetime,
    limit: Limit,
    calendar: WorkingCalendar,
    *,
    extensions: Sequence[Limit] = (),
    green_channel: bool = False,
) -> bool:
    """Whether a case's decision deadline (suspensions aside) falls after the statutory one.

    The statutory one is Art. 42's 20 working days from the same start, +10 when any
    extension was approved; extensions totalling more than 10 working days also exceed.
    """
    if limit.unit is Unit.HOURS:  # the due date depends on the start's time of day
        return _exceeds(start, limit, calendar, extensions, green_channel)
    # For day units the answer follows from the acceptance day: kept with the calendar.
    day = start.astimezone(DEFAULT_TZ).date()
    return calendar.remembered(
        ("exceeds_statutory", day, limit, tuple(extensions), green_channel),
        lambda: _exceeds(start, limit, calendar, extensions, green_channel),
    )


def _exceeds(
    start: datetime,
    limit: Limit,
    calendar: WorkingCalendar,
    extensions: Sequence[Limit],
    green_channel: bool,
) -> bool:
    case = compute_deadline(
        start, limit, calendar, extensions=extensions, green_channel=green_channel
    )
    if case.extended_working_days > STATUTORY_EXTENSION.value:
        return True
    statutory = compute_deadline(
        start, statutory_limit(Stage.DECISION, extended=any(e.value for e in extensions)), calendar
    )
    return case.due_date > statutory.due_date
