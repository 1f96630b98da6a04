"""Where the working-day calendar's years come from.

Bundled year files (``config/calendars/YYYY.toml``, from the State Council's
notices), then years imported with ``cuiban calendar import`` (kept under
``<data_dir>/calendars``), then ``calendar.year_files`` — later ones replace
earlier ones for the same year.

The year after the last official one can be added provisionally
(``calendar.provisional_next_year``): its lunar festival dates come from the
``holidays`` package's China calendar (docs/decisions: provisional next year),
and core turns them into a year with 补假 and no 调休.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import asyncpg
from holidays.countries.china import China

from core.calendar import (
    STATUTORY_HOLIDAYS,
    CalendarYear,
    WorkingCalendar,
    parse_year_file,
    provisional_year,
    render_year_file,
)
from core.errors import ConfigError, InputError
from hub.store.queries import Q


def bundled_years() -> list[CalendarYear]:
    folder = importlib.resources.files("config").joinpath("calendars")
    return [
        parse_year_file(entry.read_text("utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]


def imported_dir(data_dir: Path) -> Path:
    return data_dir / "calendars"


def read_year_file(path: Path) -> CalendarYear:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read year file {path}: {exc.strerror}") from exc
    try:
        return parse_year_file(text)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc


def load_calendar(data_dir: Path, year_files: Iterable[Path] = ()) -> WorkingCalendar:
    years = {year.year: year for year in bundled_years()}
    local = imported_dir(data_dir)
    extra = sorted(local.glob("*.toml")) if local.is_dir() else []
    for path in [*extra, *year_files]:
        try:
            year = read_year_file(path)
        except InputError as exc:
            raise ConfigError(f"calendar.year_files: {exc}") from exc
        years[year.year] = year
    return WorkingCalendar(years.values())


def import_year_file(path: Path, data_dir: Path) -> tuple[CalendarYear, Path]:
    """Validate a year file and keep a copy where every later start finds it."""
    year = read_year_file(path)
    target = imported_dir(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    dest = target / f"{year.year}.toml"
    dest.write_text(path.read_text("utf-8"), "utf-8")
    return year, dest


# The library names the Eve 农历除夕; the State Council's notices file it under 春节.
_SAME_PERIOD = {"农历除夕": "春节"}


def statutory_festivals(year: int) -> dict[date, str]:
    """The statutory holiday days of ``year`` by name, lunar dates converted, no 调休.

    Only the names of 《全国年节及纪念日放假办法》 are kept: the library also knows the
    rest days of notices already published, which belong with their make-up workdays
    in an official year file, not in a provisional year. A day that is two festivals
    at once (中秋节 on 国庆节) is one day off named after both ("中秋节、国庆节").
    """
    # holidays' country classes carry no annotations on __init__.
    found = China(years=year, observed=False, language="zh_CN")  # type: ignore[no-untyped-call]
    festivals: dict[date, str] = {}
    for day, label in sorted(found.items()):
        names = [_SAME_PERIOD.get(n.strip(), n.strip()) for n in str(label).split(";")]
        statutory = [n for n in names if n in STATUTORY_HOLIDAYS]
        if statutory:
            festivals[day] = "、".join(dict.fromkeys(statutory))
    return festivals


def with_provisional_next_year(calendar: WorkingCalendar) -> WorkingCalendar:
    """``calendar`` plus the year after its last official one, provisionally (if missing)."""
    official = calendar.official_years
    if not official:
        return calendar
    following = official[-1] + 1
    if following in calendar.years:
        return calendar
    return calendar.with_year(provisional_year(following, statutory_festivals(following)))


class LiveCalendar(WorkingCalendar):
    """The one calendar a hub process reads, its years swapped whole when a year is imported.

    Every part (ingest, the tick, routing, pages) holds this same object, so an
    import reaches them all at once: :meth:`swap` replaces the years between two
    awaits of the event loop, so no computation sees half of them. The official
    years are kept apart; the provisional next year is derived from them.
    """

    __slots__ = ("official", "provisional_next_year", "revision")

    def __init__(
        self, official: WorkingCalendar, *, provisional_next_year: bool, revision: int = 0
    ) -> None:
        self.provisional_next_year = provisional_next_year
        self.swap(official, revision=revision)

    def swap(self, official: WorkingCalendar, *, revision: int) -> None:
        """Serve ``official`` (plus the provisional next year, if on) from now on."""
        full = with_provisional_next_year(official) if self.provisional_next_year else official
        for slot in WorkingCalendar.__slots__:
            setattr(self, slot, getattr(full, slot))
        self.official = WorkingCalendar(full.year(y) for y in full.official_years)
        self.revision = revision

    def __repr__(self) -> str:
        return f"LiveCalendar(years={list(self.years)!r}, revision={self.revision})"


# --- years in PostgreSQL ------------------------------------------------------------------

NOTIFY_CHANNEL = "cuiban_calendar"


async def seed_years(conn: asyncpg.Connection, years: Iterable[CalendarYear]) -> list[int]:
    """Store the bundled (and configured) years the database lacks; return the new ones."""
    first = await conn.fetchval(Q["count_calendar_years"]) == 0
    added = []
    for year in years:
        row = await conn.fetchval(
            Q["seed_calendar_year"],
            year.year,
            year.source,
            render_year_file(year),
            0 if first else None,
        )
        if row is not None:
            added.append(year.year)
    return added


async def load_official(conn: asyncpg.Connection) -> tuple[WorkingCalendar, int]:
    """The official years stored in the database, and their latest revision."""
    rows = await conn.fetch(Q["calendar_years"])
    years = [parse_year_file(r["file"]) for r in rows]
    revision = max((r["revision"] for r in rows), default=0)
    return WorkingCalendar(years), revision


async def store_year(
    conn: asyncpg.Connection, year: CalendarYear, *, by: str, now: datetime
) -> int:
    """Store an imported year and tell every hub process (NOTIFY); return its revision."""
    if year.provisional:
        raise InputError("a provisional year cannot be imported; import the official notice")
    async with conn.transaction():
        revision: int = await conn.fetchval(
            Q["store_calendar_year"], year.year, year.source, render_year_file(year), now, by
        )
        await conn.execute(Q["notify_calendar"], str(year.year))
    return revision
