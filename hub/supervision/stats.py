"""Supervision figures (电子监察): counts and verdicts summed in SQL, rates derived from them.

One query (``stats_figures`` in ``sql/stats.sql``) yields every measure as
``(group, measure, n)`` rows; :func:`compute` pivots them into :class:`Figures`
per group and for the whole period. What each figure means is in
``docs/decisions/0008-supervision-figures.md``; in short:

* ``accepted``: accepted in the period; ``closed`` (办结) = ``early + on_time + late +
  closed_unjudged``: the case's own deadline stopped (decision, else closing) in the period;
  ``withdrawn``: withdrawn before any decision.
* verdicts are :func:`core.levels.verdict_for` against the adjusted deadline.
* ``open`` / ``open_overdue`` / ``open_due_soon``: the backlog at ``as_of`` (the period's
  end, or now if that is earlier), whenever the case was accepted.
* 好差评: ``poor_ratings`` (rectifications opened) and ``verified_on_time_rate`` (回访核实率:
  of those, verified by their due instant); ``rectified`` (closed, any outcome) and
  ``rectified_on_time_rate`` (差评按时整改率: of those, closed by their due instant).
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import asyncpg

from core.errors import InputError
from core.instants import EARLIEST, LATEST, in_span
from hub.store.queries import Q

__all__ = [
    "GROUPINGS",
    "Figures",
    "Group",
    "Period",
    "Stats",
    "StatsQueryError",
    "compute",
    "month_period",
    "parse_period",
]

GroupBy = Literal["department", "matter", "month"]
GROUPINGS: tuple[GroupBy, ...] = ("department", "matter", "month")
MAX_DAYS = 3 * 366
UNLINKED = "（未关联办件）"


class StatsQueryError(InputError):
    """The statistics query is not valid."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, kw_only=True)
class Period:
    """Local dates ``first`` to ``last``, both included."""

    first: date
    last: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as ``[lo, hi)`` instants."""
        lo = datetime.combine(self.first, time(), tz)
        hi = datetime.combine(self.last + timedelta(days=1), time(), tz)
        return lo, hi

    def months(self) -> list[str]:
        """Every ``YYYY-MM`` the period touches, in order."""
        out = []
        year, month = self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def as_json(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def month_period(month: str) -> Period:
    """``2026-10`` as the period 1–31 October (raises ValueError when malformed)."""
    year_text, sep, month_text = month.partition("-")
    if not sep or len(year_text) != 4 or len(month_text) != 2:
        raise ValueError(f"{month!r} is not YYYY-MM")
    year, number = int(year_text), int(month_text)
    last = _calendar.monthrange(year, number)[1]
    period = Period(first=date(year, number, 1), last=date(year, number, last))
    if not (in_span(period.first) and in_span(period.last)):
        raise ValueError(f"{month!r} is outside {EARLIEST:%Y-%m} to {LATEST:%Y-%m}")
    return period


def _day(text: str, *, end: bool) -> date:
    if len(text) == 7:
        period = month_period(text)
        return period.last if end else period.first
    return date.fromisoformat(text)


def parse_period(
    first: str | None, last: str | None, *, today: date, group_by: str | None = None
) -> tuple[Period, GroupBy | None]:
    """``from``/``to`` (YYYY-MM-DD or YYYY-MM, local, both included) and ``group_by``.

    Defaults: ``to`` is today, ``from`` the first day of ``to``'s month. Every bad
    field is named in :class:`StatsQueryError`'s ``errors``.
    """
    errors: list[dict[str, str]] = []
    parsed: dict[str, date] = {}
    for name, text, end in (("from", first, False), ("to", last, True)):
        if text:
            try:
                day = _day(text.strip(), end=end)
            except ValueError:
                errors.append({"field": name, "message": "must be a date YYYY-MM-DD or YYYY-MM"})
                continue
            if in_span(day):
                parsed[name] = day
            else:
                errors.append(
                    {"field": name, "message": f"must be between {EARLIEST} and {LATEST}"}
                )
    grouping: GroupBy | None = None
    if group_by:
        if group_by in GROUPINGS:
            grouping = group_by
        else:
            errors.append(
                {"field": "group_by", "message": "must be one of: " + ", ".join(GROUPINGS)}
            )
    if errors:
        raise StatsQueryError(errors)
    end_day = parsed.get("to", today)
    start_day = parsed.get("from", end_day.replace(day=1))
    if start_day > end_day:
        raise StatsQueryError([{"field": "to", "message": "must not be before 'from'"}])
    if (end_day - start_day).days >= MAX_DAYS:
        raise StatsQueryError(
            [{"field": "to", "message": f"the period may span at most {MAX_DAYS} days"}]
        )
    return Period(first=start_day, last=end_day), grouping


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, kw_only=True)
class Figures:
    """The figures of one group (or of the whole period)."""

    accepted: int = 0
    green_channel: int = 0
    closed_of_accepted: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    closed_unjudged: int = 0
    withdrawn: int = 0
    open: int = 0
    open_due_soon: int = 0
    open_overdue: int = 0
    urges: int = 0
    notices: int = 0
    notices_sent: int = 0
    notices_delivered: int = 0
    notices_failed: int = 0
    ratings: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    rating_sum: int = 0
    poor_ratings: int = 0  # rectifications opened (好差评: a rating of 1 or 2)
    verified_on_time: int = 0  # of those, verified (回访核实) by their verify due instant
    rectified: int = 0  # rectifications closed, any outcome
    rectified_on_time: int = 0  # of those, closed by their rectify due instant

    @classmethod
    def from_counts(cls, counts: Mapping[str, int]) -> Figures:
        r1, r2, r3, r4, r5 = (counts.get(f"rating_{r}", 0) for r in range(1, 6))
        ratings = (r1, r2, r3, r4, r5)
        known = {f for f in cls.__dataclass_fields__ if f not in ("ratings", "rating_sum")}
        return cls(
            **{name: counts.get(name, 0) for name in known},
            ratings=ratings,
            rating_sum=counts.get("rating_sum", 0),
        )

    @property
    def closed(self) -> int:
        """办结: cases whose own deadline stopped in the period (withdrawals apart)."""
        return self.early + self.on_time + self.late + self.closed_unjudged

    @property
    def judged(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def satisfaction_count(self) -> int:
        return sum(self.ratings)

    @property
    def satisfaction(self) -> float | None:
        """The mean 1–5 rating given in the period."""
        count = self.satisfaction_count
        return round(self.rating_sum / count, 2) if count else None

    @property
    def on_time_rate(self) -> float | None:
        """按时办结率: closed within the deadline (提前 included) among judged closings."""
        return _rate(self.early + self.on_time, self.judged)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "green_channel": self.green_channel,
            "closed": self.closed,
            "closed_of_accepted": self.closed_of_accepted,
            "early": self.early,
            "on_time": self.on_time,
            "late": self.late,
            "closed_unjudged": self.closed_unjudged,
            "withdrawn": self.withdrawn,
            "open": self.open,
            "open_due_soon": self.open_due_soon,
            "open_overdue": self.open_overdue,
            "urges": self.urges,
            "notices": self.notices,
            "notices_sent": self.notices_sent,
            "notices_delivered": self.notices_delivered,
            "notices_failed": self.notices_failed,
            "satisfaction": self.satisfaction,
            "satisfaction_count": self.satisfaction_count,
            "satisfaction_distribution": {
                str(r): n for r, n in zip(range(1, 6), self.ratings, strict=True)
            },
            "closed_rate": _rate(self.closed_of_accepted, self.accepted),
            "on_time_rate": self.on_time_rate,
            "early_rate": _rate(self.early, self.judged),
            "late_rate": _rate(self.late, self.judged),
            "overdue_rate": _rate(self.open_overdue, self.open),
            "delivery_rate": _rate(self.notices_delivered, self.notices_sent),
            "poor_ratings": self.poor_ratings,
            "rectified": self.rectified,
            "verified_on_time": self.verified_on_time,
            "rectified_on_time": self.rectified_on_time,
            "rectified_on_time_rate": _rate(self.rectified_on_time, self.rectified),
            "verified_on_time_rate": _rate(self.verified_on_time, self.poor_ratings),
        }


@dataclass(frozen=True, kw_only=True)
class Group:
    key: str | None
    name: str | None
    figures: Figures

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, **self.figures.as_json()}


@dataclass(frozen=True, kw_only=True)
class Stats:
    period: Period
    group_by: GroupBy | None
    as_of: datetime
    total: Figures
    groups: list[Group] = field(default_factory=list)

    def as_json(self, tz: ZoneInfo) -> dict[str, Any]:
        return {
            **self.period.as_json(),
            "group_by": self.group_by,
            "as_of": self.as_of.astimezone(tz).isoformat(),
            "total": self.total.as_json(),
            "items": [g.as_json() for g in self.groups],
            "next_cursor": None,
        }


def _pivot(
    rows: Iterable[Mapping[str, Any]],
) -> dict[str | None, tuple[str | None, dict[str, int]]]:
    out: dict[str | None, tuple[str | None, dict[str, int]]] = {}
    for row in rows:
        name, counts = out.setdefault(row["key"], (row["name"], {}))
        if name is None and row["name"] is not None:
            out[row["key"]] = (row["name"], counts)
        counts[row["measure"]] = int(row["n"])
    return out


async def compute(
    conn: asyncpg.Connection,
    period: Period,
    *,
    group_by: GroupBy | None,
    now: datetime,
    tz: ZoneInfo,
) -> Stats:
    """The figures of ``period``, in total and per ``group_by`` group (keys sorted)."""
    lo, hi = period.bounds(tz)
    as_of = min(hi, now)
    tz_name = str(tz.key)
    total_rows = await conn.fetch(Q["stats_figures"], lo, hi, "", as_of, tz_name)
    total = Figures.from_counts(_pivot(total_rows).get("", (None, {}))[1])
    groups: list[Group] = []
    if group_by is not None:
        pivot = _pivot(await conn.fetch(Q["stats_figures"], lo, hi, group_by, as_of, tz_name))
        if group_by == "month":
            for month in period.months():
                pivot.setdefault(month, (month, {}))
        for key in sorted(pivot, key=lambda k: (k is None, k or "")):
            name, counts = pivot[key]
            if group_by == "month":
                name = key
            groups.append(
                Group(
                    key=key,
                    name=name if key is not None else UNLINKED,
                    figures=Figures.from_counts(counts),
                )
            )
    return Stats(period=period, group_by=group_by, as_of=as_of, total=total, groups=groups)
