"""Is next year's calendar in? What /readyz, /metrics and the supervision page warn about.

The State Council publishes the next year's holiday notice in the late autumn. From
``calendar.warn_from`` (default 1 November) until it is imported, the hub stays ready
but says so: the year missing (or served provisionally), and how many open cases
rest on a provisional year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from core.calendar import WorkingCalendar
from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from hub.notices.notify import notify_reviewers
from hub.services import Services
from hub.settings import CalendarSettings
from hub.store.queries import Q


@dataclass(frozen=True, kw_only=True)
class CalendarStatus:
    year: int  # the year the warning is about: this year or the next
    official: bool
    provisional: bool
    open_provisional_cases: int
    warning: bool

    def as_json(self) -> dict[str, object]:
        return {
            "year": self.year,
            "official": self.official,
            "provisional": self.provisional,
            "open_provisional_cases": self.open_provisional_cases,
            "warning": self.warning,
        }

    def banner(self) -> str | None:
        """One sentence for the supervision page, or None when all is in order."""
        if not self.warning:
            return None
        how = "暂按法定节假日推算" if self.provisional else "尚无法计算"
        return (
            f"国务院办公厅{self.year}年节假日安排尚未导入：{self.year}年的期限{how}，"
            f"{self.open_provisional_cases}件在办案件的承诺日期为暂定。"
            "请导入通知（cuiban calendar import）。"
        )


async def calendar_status(
    conn: asyncpg.Connection, calendar: WorkingCalendar, settings: CalendarSettings, now: datetime
) -> CalendarStatus:
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    official = set(calendar.official_years)
    # This year not official (the notice never came) is worse than next year missing.
    year = today.year if today.year not in official else today.year + 1
    missing = year not in official
    warning = missing and (year == today.year or settings.warns_on(today))
    count: int = await conn.fetchval(Q["count_open_provisional_cases"])
    return CalendarStatus(
        year=year,
        official=not missing,
        provisional=year in calendar.provisional_years,
        open_provisional_cases=count,
        warning=warning,
    )


async def weekly_calendar_warning(services: Services, now: datetime) -> int:
    """Once a week while the warning stands, the supervisors hear which year is missing.

    Idempotent: the dedupe key names the year and the ISO week, so every tick and
    every process may call it.
    """
    settings = services.settings
    async with services.pool.acquire() as conn:
        status = await calendar_status(conn, services.calendar, settings.calendar, now)
        if not status.warning:
            return 0
        week = now.astimezone(ZoneInfo(settings.calendar.timezone)).isocalendar()
        supervisors = [r["person_id"] for r in await conn.fetch(Q["report_supervisors"])]
        try:
            return await notify_reviewers(
                conn,
                services.routing,
                supervisors,
                NoticeKind.CALENDAR_MISSING,
                f"calendar_missing:{status.year}:{week.year}-W{week.week:02d}",
                {"year": str(status.year), "count": str(status.open_provisional_cases)},
                now=now,
                link=f"{settings.http.public_base_url}/supervise/",
            )
        except CalendarYearUnknown:
            return 0  # today itself is in an unknown year: the tick's notices say so
