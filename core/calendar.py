"""The working-day calendar: statutory holidays and 调休 make-up workdays, per year.

A *working day* is a day that is neither a weekend nor a public holiday, plus the
make-up workdays (a Saturday or Sunday declared a workday) — per the State Council's
notice for that year (国务院办公厅关于YYYY年部分节假日安排的通知). The State Council
publishes each year's notice only weeks before the year starts, so the calendar knows
exactly the years it was given and refuses every other one: it never guesses.
The one exception is asked for by name: :func:`provisional_year` builds the year after
the last official one from the statutory holidays alone (《全国年节及纪念日放假办法》,
补假 for a holiday on a weekend, no 调休 make-up workdays), marked ``provisional``.

Pure: year files come in as text (the hub reads them), nothing here touches a disk.
"""

from __future__ import annotations

import json
import tomllib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from core.errors import CalendarYearUnknown, InputError

__all__ = [
    "MAKE_UP_SUFFIX",
    "STATUTORY_HOLIDAYS",
    "CalendarYear",
    "WorkingCalendar",
    "parse_year_file",
    "provisional_year",
    "render_year_file",
]

#: Suffix that marks a make-up workday's name ("春节" -> "春节调休").
MAKE_UP_SUFFIX = "调休"

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


def _is_plain_date(value: object) -> bool:
    # datetime is a subclass of date; a TOML date-time is a mistake in a year file.
    return isinstance(value, date) and not isinstance(value, datetime)


class _DayNames(Mapping[date, str]):
    """A read-only, hashable, picklable date -> name mapping, sorted by date."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[date, str]) -> None:
        self._data = dict(sorted(data.items()))

    def __getitem__(self, key: date) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[date]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[type[_DayNames], tuple[dict[date, str]]]:
        return (_DayNames, (self._data,))


def _make_up_name(name: str) -> str:
    return name if name.endswith(MAKE_UP_SUFFIX) else name + MAKE_UP_SUFFIX


@dataclass(frozen=True, kw_only=True)
class CalendarYear:
    """One year of the State Council's holiday arrangement.

    ``holidays`` maps every day off of a statutory holiday period (weekend days inside
    the period included) to its name; ``make_up_workdays`` maps each 调休 Saturday or
    Sunday that is a working day to its name, normalised to end in "调休".
    """

    year: int
    holidays: Mapping[date, str]
    make_up_workdays: Mapping[date, str]
    source: str = ""
    #: Computed from the statutory holidays until the State Council's notice is imported.
    provisional: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise InputError(f"year must be an integer, not {self.year!r}")
        if not 1900 <= self.year <= 9998:
            raise InputError(f"year {self.year} is out of range (1900–9998)")
        if not isinstance(self.source, str):
            raise InputError(f"source must be a string, not {self.source!r}")
        if not isinstance(self.provisional, bool):
            raise InputError(f"provisional must be true or false, not {self.provisional!r}")
        holidays = self._checked("holiday", self.holidays)
        make_up = self._checked("make-up workday", self.make_up_workdays)
        for day, name in make_up.items():
            if day.weekday() < _SATURDAY:
                raise InputError(
                    f"make-up workday {day.isoformat()} ({name}) is a {day.strftime('%A')}; "
                    "a 调休 make-up workday is always a Saturday or Sunday"
                )
            if day in holidays:
                raise InputError(
                    f"{day.isoformat()} is both a holiday ({holidays[day]}) "
                    f"and a make-up workday ({name})"
                )
        normalised = {day: _make_up_name(name) for day, name in make_up.items()}
        object.__setattr__(self, "holidays", _DayNames(holidays))
        object.__setattr__(self, "make_up_workdays", _DayNames(normalised))

    def _checked(self, what: str, days: Mapping[date, str]) -> dict[date, str]:
        if not isinstance(days, Mapping):
            raise InputError(f"{what}s of {self.year} must be a mapping of date to name")
        out: dict[date, str] = {}
        for day in sorted(days):
            name = days[day]
            if not _is_plain_date(day):
                raise InputError(f"{what} {day!r} of {self.year} is not a date")
            if day.year != self.year:
                raise InputError(
                    f"{what} {day.isoformat()} ({name}) lies outside year {self.year}; "
                    "file each date under its own calendar year"
                )
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"{what} {day.isoformat()} of {self.year} needs a name")
            out[day] = name.strip()
        return out

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` (a date of this year) is a working day."""
        if day in self.make_up_workdays:
            return True
        return day.weekday() < _SATURDAY and day not in self.holidays


# --- a provisional year -----------------------------------------------------------------

#: The statutory holidays of 《全国年节及纪念日放假办法》 as in force from 1 January 2025
#: (国务院令第795号): name -> days off. The Spring Festival's four are the Eve and days 1–3.
STATUTORY_HOLIDAYS: Mapping[str, int] = {
    "元旦": 1,
    "春节": 4,
    "清明节": 1,
    "劳动节": 2,
    "端午节": 1,
    "中秋节": 1,
    "国庆节": 3,
}


def provisional_year(year: int, festivals: Mapping[date, str]) -> CalendarYear:
    """The year ``year`` computed from its statutory holidays alone, marked provisional.

    ``festivals`` maps each statutory holiday day of the year (the lunar ones already
    converted) to its name. A holiday on a Saturday or Sunday is made up on the next
    working day (办法 Art. 6: 适逢星期六、星期日，应当在工作日补假), in date order, so a
    weekend Spring Festival pushes its days off past the festival. No 调休 make-up
    workday is guessed: those come only with the State Council's notice.
    """
    days: dict[date, str] = {}
    for day in sorted(festivals):
        if day.year != year:
            raise InputError(f"festival {day.isoformat()} lies outside year {year}")
        days[day] = festivals[day]
    off = dict(days)
    for day, name in days.items():
        if day.weekday() < _SATURDAY:
            continue
        make_up = day + _ONE_DAY
        while make_up.weekday() >= _SATURDAY or make_up in off:
            make_up += _ONE_DAY
        if make_up.year != year:
            continue  # made up in the next year: no statutory holiday falls that late
        off[make_up] = name
    return CalendarYear(
        year=year,
        holidays=off,
        make_up_workdays={},
        source="《全国年节及纪念日放假办法》（2025年起施行）法定节假日推算，未含调休",
        provisional=True,
    )


# --- year files -------------------------------------------------------------------------

_HOLIDAY_KEYS = frozenset({"name", "from", "to", "date"})
_MAKE_UP_KEYS = frozenset({"name", "date"})
_TOP_KEYS = frozenset({"year", "source", "holidays", "make_up_workdays"})


def _entry_date(where: str, entry: Mapping[str, Any], key: str) -> date:
    if key not in entry:
        raise InputError(f"{where}: missing key {key!r}")
    value = entry[key]
    if not _is_plain_date(value):
        raise InputError(f"{where}: {key!r} must be a TOML date like 2026-02-15, not {value!r}")
    day: date = value
    return day


def _entry_name(where: str, entry: Mapping[str, Any]) -> str:
    if "name" not in entry:
        raise InputError(f"{where}: missing key 'name'")
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: 'name' must be a non-empty string, not {name!r}")
    return name.strip()


def _entries(doc: Mapping[str, Any], key: str, allowed: frozenset[str]) -> list[dict[str, Any]]:
    raw = doc.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise InputError(f"{key!r} must be an array of tables ([[{key}]])")
    for index, entry in enumerate(raw):
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise InputError(f"{key}[{index}]: unknown key(s) {', '.join(map(repr, unknown))}")
    return raw


def parse_year_file(text: str) -> CalendarYear:
    """Parse a year file (TOML) into a :class:`CalendarYear`; InputError names the bad entry."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"the year file is not valid TOML: {exc}") from exc
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise InputError(f"unknown key(s) in the year file: {', '.join(map(repr, unknown))}")
    if "year" not in doc:
        raise InputError("the year file has no 'year' key")
    year = doc["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise InputError(f"'year' must be an integer, not {year!r}")
    source = doc.get("source", "")
    if not isinstance(source, str):
        raise InputError(f"'source' must be a string, not {source!r}")

    holidays: dict[date, str] = {}
    for index, entry in enumerate(_entries(doc, "holidays", _HOLIDAY_KEYS)):
        where = f"holidays[{index}]"
        name = _entry_name(where, entry)
        where = f"{where} ({name})"
        if "date" in entry:
            if "from" in entry or "to" in entry:
                raise InputError(f"{where}: give either 'date' or 'from' and 'to', not both")
            first = last = _entry_date(where, entry, "date")
        else:
            first = _entry_date(where, entry, "from")
            last = _entry_date(where, entry, "to")
        if first > last:
            raise InputError(
                f"{where}: 'from' {first.isoformat()} is after 'to' {last.isoformat()}"
            )
        for day in (first, last):
            if day.year != year:
                raise InputError(f"{where}: {day.isoformat()} lies outside year {year}")
        day = first
        while day <= last:
            if day in holidays:
                raise InputError(
                    f"{where}: {day.isoformat()} is already listed as a holiday ({holidays[day]})"
                )
            holidays[day] = name
            day += _ONE_DAY

    make_up: dict[date, str] = {}
    for index, entry in enumerate(_entries(doc, "make_up_workdays", _MAKE_UP_KEYS)):
        where = f"make_up_workdays[{index}]"
        name = _entry_name(where, entry)
        where = f"{where} ({name})"
        day = _entry_date(where, entry, "date")
        if day.year != year:
            raise InputError(f"{where}: {day.isoformat()} lies outside year {year}")
        if day in make_up:
            raise InputError(f"{where}: {day.isoformat()} is listed twice")
        if day.weekday() < _SATURDAY:
            raise InputError(
                f"{where}: {day.isoformat()} is a {day.strftime('%A')}; "
                "a make-up workday is always a Saturday or Sunday"
            )
        if day in holidays:
            raise InputError(f"{where}: {day.isoformat()} is also a holiday ({holidays[day]})")
        make_up[day] = name

    return CalendarYear(year=year, holidays=holidays, make_up_workdays=make_up, source=source)


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes); keep Chinese readable.
    return json.dumps(text, ensure_ascii=False)


def _runs(days: Mapping[date, str]) -> Iterator[tuple[date, date, str]]:
    """Group consecutive days with the same name into (first, last, name) ranges."""
    ordered = sorted(days)
    start = 0
    for index, day in enumerate(ordered):
        last = index + 1 == len(ordered)
        if last or ordered[index + 1] != day + _ONE_DAY or days[ordered[index + 1]] != days[day]:
            yield ordered[start], day, days[day]
            start = index + 1


def render_year_file(year: CalendarYear) -> str:
    """Render ``year`` as a year file; :func:`parse_year_file` reads it back unchanged."""
    lines = [f"year = {year.year}", f"source = {_toml_string(year.source)}"]
    for first, last, name in _runs(year.holidays):
        lines += [
            "",
            "[[holidays]]",
            f"name = {_toml_string(name)}",
            f"from = {first.isoformat()}",
            f"to = {last.isoformat()}",
        ]
    for day in sorted(year.make_up_workdays):
        name = year.make_up_workdays[day].removesuffix(MAKE_UP_SUFFIX) or MAKE_UP_SUFFIX
        lines += [
            "",
            "[[make_up_workdays]]",
            f"name = {_toml_string(name)}",
            f"date = {day.isoformat()}",
        ]
    return "\n".join(lines) + "\n"


# --- the calendar -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Segment:
    """A run of consecutive known years, precomputed for O(1) working-day arithmetic."""

    first_year: int
    last_year: int
    base: int  # ordinal of 1 January of first_year
    end: int  # ordinal of 1 January after last_year
    # cum[i] = number of working days in [base, base + i); len(cum) == end - base + 1.
    cum: array[int] = field(repr=False)
    # Ordinals of the working days, ascending: days[k] is the (k+1)-th of the segment.
    days: array[int] = field(repr=False)


def _build_segment(years: list[CalendarYear]) -> _Segment:
    base = date(years[0].year, 1, 1).toordinal()
    end = date(years[-1].year + 1, 1, 1).toordinal()
    cum = array("l", [0])
    days = array("l")
    count = 0
    for cal in years:
        day = date(cal.year, 1, 1)
        while day.year == cal.year:
            if cal.is_working_day(day):
                days.append(day.toordinal())
                count += 1
            cum.append(count)
            day += _ONE_DAY
    return _Segment(
        first_year=years[0].year, last_year=years[-1].year, base=base, end=end, cum=cum, days=days
    )


_T = TypeVar("_T")
_MEMO_SIZE = 4096


class WorkingCalendar:
    """Working-day arithmetic over the loaded years; any other year is refused.

    Every method raises :class:`CalendarYearUnknown` as soon as it would look at a day of
    a year that was not loaded (years need not be contiguous).
    """

    __slots__ = ("_by_year", "_provisional", "_years", "memo", "years")

    def __init__(self, years: Iterable[CalendarYear]) -> None:
        #: Results of pure computations over these years (``core.deadlines`` keeps the
        #: date part of deadlines here): they live and die with this set of years.
        self.memo: dict[Hashable, Any] = {}
        by_year: dict[int, CalendarYear] = {}
        for cal in years:
            if not isinstance(cal, CalendarYear):
                raise InputError(f"expected a CalendarYear, not {cal!r}")
            by_year[cal.year] = cal  # a later file for the same year replaces the earlier one
        self._years: dict[int, CalendarYear] = dict(sorted(by_year.items()))
        self.years: tuple[int, ...] = tuple(self._years)
        self._provisional = frozenset(y for y, cal in self._years.items() if cal.provisional)
        # Consecutive years share one segment, so spans across New Year stay O(1).
        runs: list[list[CalendarYear]] = []
        for cal in self._years.values():
            if runs and cal.year == runs[-1][-1].year + 1:
                runs[-1].append(cal)
            else:
                runs.append([cal])
        self._by_year: Mapping[int, _Segment] = {
            cal.year: segment for run in runs for segment in [_build_segment(run)] for cal in run
        }

    def remembered(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()``, kept under ``key`` for as long as these years are the calendar.

        For pure computations over the calendar that many cases repeat (a centre's
        cases share a handful of acceptance days and limits). Errors are not kept.
        """
        try:
            found: _T = self.memo[key]
        except KeyError:
            found = compute()
            if len(self.memo) >= _MEMO_SIZE:
                self.memo.clear()  # a crude bound: the working set refills it at once
            self.memo[key] = found
        return found

    @classmethod
    def from_year_files(cls, texts: Iterable[str]) -> WorkingCalendar:
        """A calendar from year-file texts (later texts replace earlier ones for a year)."""
        return cls(parse_year_file(text) for text in texts)

    def __repr__(self) -> str:
        return f"WorkingCalendar(years={list(self.years)!r})"

    # -- years -----------------------------------------------------------------------------

    def _unknown(self, year: int) -> CalendarYearUnknown:
        known = (self.years[0], self.years[-1]) if self.years else None
        return CalendarYearUnknown(year, known=known)

    def _segment(self, day: date) -> _Segment:
        segment = self._by_year.get(day.year)
        if segment is None:
            raise self._unknown(day.year)
        return segment

    def year(self, y: int) -> CalendarYear:
        """The loaded year ``y``."""
        try:
            return self._years[y]
        except KeyError:
            raise self._unknown(y) from None

    def with_year(self, y: CalendarYear) -> WorkingCalendar:
        """A new calendar with ``y`` added, replacing a loaded year of the same number."""
        return WorkingCalendar([*self._years.values(), y])

    def knows(self, d: date) -> bool:
        """Whether the year of ``d`` was loaded."""
        return d.year in self._by_year

    @property
    def official_years(self) -> tuple[int, ...]:
        """The loaded years that come from the State Council's notices."""
        return tuple(y for y, cal in self._years.items() if not cal.provisional)

    @property
    def provisional_years(self) -> tuple[int, ...]:
        """The loaded years computed from the statutory holidays alone."""
        return tuple(sorted(self._provisional))

    def spans_provisional(self, first: date, last: date) -> bool:
        """Whether any year from ``first``'s to ``last``'s is a provisional one."""
        return bool(self._provisional) and any(
            y in self._provisional for y in range(first.year, last.year + 1)
        )

    # -- days ------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day."""
        segment = self._segment(d)
        offset = d.toordinal() - segment.base
        return segment.cum[offset + 1] != segment.cum[offset]

    def day_name(self, d: date) -> str | None:
        """The holiday or make-up workday name of ``d`` ("春节", "春节调休"), else None."""
        cal = self.year(d.year)
        return cal.holidays.get(d) or cal.make_up_workdays.get(d)

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d`` (``d`` itself for 0)."""
        if n < 0:
            return self.subtract_working_days(d, -n)
        segment = self._segment(d)
        if n == 0:
            return d
        # cum[offset + 1] working days are on or before d, so days[that] is the first after.
        target = segment.cum[d.toordinal() - segment.base + 1] + n - 1
        if target >= len(segment.days):
            raise self._unknown(segment.last_year + 1)
        return date.fromordinal(segment.days[target])

    def subtract_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly before ``d`` (``d`` itself for 0)."""
        if n < 0:
            return self.add_working_days(d, -n)
        segment = self._segment(d)
        if n == 0:
            return d
        target = segment.cum[d.toordinal() - segment.base] - n
        if target < 0:
            raise self._unknown(segment.first_year - 1)
        return date.fromordinal(segment.days[target])

    def next_working_day_on_or_after(self, d: date) -> date:
        """``d`` if it is a working day, else the first working day after it."""
        segment = self._segment(d)
        index = segment.cum[d.toordinal() - segment.base]
        if index >= len(segment.days):
            raise self._unknown(segment.last_year + 1)
        return date.fromordinal(segment.days[index])

    def count_working_days(self, start: date, end: date) -> int:
        """The number of working days in the half-open range [start, end); 0 if end <= start."""
        if end <= start:
            return 0
        segment = self._segment(start)
        end_offset = end.toordinal() - segment.base
        if end_offset > segment.end - segment.base:
            raise self._unknown(segment.last_year + 1)
        return segment.cum[end_offset] - segment.cum[start.toordinal() - segment.base]

    def working_days_between(self, first: date, last: date) -> list[date]:
        """The working days in [first, last], in order (for pages; not for hot paths)."""
        if last < first:
            return []
        count = self.count_working_days(first, last + _ONE_DAY)
        segment = self._segment(first)
        start = bisect_left(segment.days, first.toordinal())
        return [date.fromordinal(o) for o in segment.days[start : start + count]]
