"""Generate config/calendars/YYYY.toml from the `chinesecalendar` package (a dev tool).

    /work/venv/bin/python tools/gen_calendars.py [--check] [FIRST [LAST]]

`chinesecalendar` is a development dependency only: Cuiban ships the generated year
files and reads them at run time (see docs/decisions/0001-calendar-data.md). With
``--check`` nothing is written; the exit status says whether the files are current.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from chinese_calendar import constants  # type: ignore[import-untyped]  # noqa: E402

from core.calendar import CalendarYear, render_year_file  # noqa: E402

OUT_DIR = ROOT / "config" / "calendars"
FIRST_YEAR, LAST_YEAR = 2004, 2026

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}

# Notice numbers we are sure of; other years cite the notice by its title.
NOTICES = {
    2020: "国务院办公厅关于2020年部分节假日安排的通知；"
    "国务院办公厅关于延长2020年春节假期的通知（国办发明电〔2020〕1号）",
    2015: "国务院办公厅关于2015年部分节假日安排的通知；"
    "国务院关于中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日调休放假的通知",
    2025: "国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）",
    2026: "国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）",
}

# Days off the notices list that chinesecalendar leaves out (a weekend day at the edge of
# a period; weekend days *inside* a period are filled in by _fill_weekend_gaps).
EXTRA_HOLIDAYS = {
    # 2015 抗战胜利70周年: "9月3日至5日调休放假，共3天", 9月6日（星期日）上班.
    date(2015, 9, 5): "Anti-Fascist 70th Day",
}


def _notice(year: int) -> str:
    return NOTICES.get(year, f"国务院办公厅关于{year}年部分节假日安排的通知")


def _fill_weekend_gaps(holidays: dict[date, str], workdays: Mapping[date, str]) -> None:
    """Add weekend days between two days of the same holiday (chinesecalendar omits a few).

    The calendar counts them as days off either way; filling them in only gives the
    period its full name on pages ("端午节 6月4日至6日").
    """
    for day in sorted(holidays):
        for gap in (2, 3):
            other = day + timedelta(days=gap)
            middle = [day + timedelta(days=i) for i in range(1, gap)]
            if (
                holidays.get(other) == holidays[day]
                and all(m not in holidays and m not in workdays for m in middle)
                and all(m.weekday() >= 5 for m in middle)
            ):
                for m in middle:
                    holidays[m] = holidays[day]


def _period_names(holidays: Mapping[date, str]) -> dict[date, str]:
    """Chinese names; a run of consecutive days off mixing holidays gets a joint name."""
    out: dict[date, str] = {}
    ordered = sorted(holidays)
    run: list[date] = []
    for index, day in enumerate(ordered):
        run.append(day)
        nxt = ordered[index + 1] if index + 1 < len(ordered) else None
        if nxt != day + timedelta(days=1):
            names: list[str] = []
            for d in run:  # in order of first appearance, as the notices write them
                if NAMES[holidays[d]] not in names:
                    names.append(NAMES[holidays[d]])
            out.update(dict.fromkeys(run, "、".join(names)))
            run = []
    return out


def build_year(year: int) -> CalendarYear:
    """The CalendarYear for ``year`` as chinesecalendar (and EXTRA_HOLIDAYS) describe it."""
    workdays = {d: str(h) for d, h in constants.workdays.items()}
    holidays = {d: str(h) for d, h in constants.holidays.items()}
    holidays.update(EXTRA_HOLIDAYS)
    _fill_weekend_gaps(holidays, workdays)
    named = _period_names(holidays)
    source = _notice(year)
    # Late-December days belong to the next year's 元旦 arrangement (e.g. 2011-12-31 work):
    # each date is filed under its own year, so cite the notice that set it.
    if any(
        d.year == year and d.month == 12 and h == "New Year's Day"
        for d, h in [*holidays.items(), *workdays.items()]
    ):
        source += f"；{_notice(year + 1)}（{year}年12月的元旦安排）"
    return CalendarYear(
        year=year,
        holidays={d: n for d, n in named.items() if d.year == year},
        make_up_workdays={d: NAMES[h] for d, h in workdays.items() if d.year == year},
        source=source,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", nargs="?", type=int, default=FIRST_YEAR)
    parser.add_argument("last", nargs="?", type=int)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.last is not None:
        last = args.last
    else:
        last = LAST_YEAR if args.first == FIRST_YEAR else args.first
    stale = 0
    for year in range(args.first, last + 1):
        text = render_year_file(build_year(year))
        path = OUT_DIR / f"{year}.toml"
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale += 1
        if args.check:
            print(f"stale: {path.relative_to(ROOT)}")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
