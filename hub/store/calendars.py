"""Where the working-day calendar's years come from.

Bundled year files (``config/calendars/YYYY.toml``, from the State Council's
notices), then years imported with ``cuiban calendar import`` (kept under
``<data_dir>/calendars``), then ``calendar.year_files`` — later ones replace
earlier ones for the same year.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from pathlib import Path

from core.calendar import CalendarYear, WorkingCalendar, parse_year_file
from core.errors import ConfigError, InputError


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
