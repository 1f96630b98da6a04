"""The span of instants Cuiban believes: 2000-01-01 to 2100-01-01.

Nothing an approval centre handles happened before 2000 or will happen after
2100; an instant outside that span is a typo or a probe (``0001-01-01``,
``9999-12-31``, a Unix time of 1e20), and letting it in breaks arithmetic
later (a year-0 date when it is shown in Beijing time, a calendar year nobody
knows). Input is refused at the edge (contract "Input limits"); values already
stored before the check existed are treated as unknown when shown.
"""

from __future__ import annotations

from datetime import date, datetime

from core.errors import InputError

__all__ = ["EARLIEST", "LATEST", "check_date", "check_instant", "in_span", "plausible"]

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 1, 1)


def in_span(day: date) -> bool:
    """Whether ``day`` lies within 2000-01-01 … 2100-01-01 (both included)."""
    return EARLIEST <= day <= LATEST


def plausible(instant: datetime | None) -> datetime | None:
    """``instant`` when it is aware and within the span, else None (shown as unknown)."""
    if instant is None or instant.tzinfo is None or instant.utcoffset() is None:
        return None
    return instant if in_span(instant.date()) else None


def check_instant(instant: datetime, field: str) -> datetime:
    """Refuse an instant whose date (as written, in its own offset) is outside the span."""
    if not in_span(instant.date()):
        raise InputError(f"{field}: must be between {EARLIEST} and {LATEST}")
    return instant


def check_date(day: date, field: str) -> date:
    """Refuse a date outside the span."""
    if not in_span(day):
        raise InputError(f"{field}: must be between {EARLIEST} and {LATEST}")
    return day
