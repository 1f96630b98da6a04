"""Demo data for ``cuiban serve --demo``: two departments, their people, and a handful of cases.

Everything goes through the same ingest path the approval system uses. The
cases are placed relative to today so the levels show green, yellow, red and a
suspension, after a finished month of history (:mod:`hub.demo.history`) for the
monthly report; a second ``--demo`` start finds them there and adds nothing.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.calendar import WorkingCalendar
from core.errors import CalendarYearUnknown
from hub.demo.directory import APPLICANTS, DEPARTMENTS, PEOPLE, seed_directory
from hub.demo.history import history_month, seed_history
from hub.demo.ingest import ingest_raw
from hub.services import Services
from hub.store import ingest as store

CASES = [
    # case_no, matter, department, reviewer, limit (working days), green channel, level to show
    ("DEMO-0001", ("SC-101", "食品经营许可"), "SCJG", "p-zhang", 20, False, "green"),
    ("DEMO-0002", ("SC-102", "药品零售许可"), "SCJG", "p-zhang", 15, True, "green"),
    ("DEMO-0003", ("SC-103", "特种设备使用登记"), "SCJG", "p-zhang", 5, False, "red"),
    ("DEMO-0004", ("ZJ-201", "建筑工程施工许可"), "ZJJ", "p-sun", 7, False, "yellow"),
    ("DEMO-0005", ("ZJ-202", "商品房预售许可"), "ZJJ", "p-sun", 10, False, "suspended"),
    ("DEMO-0006", ("ZJ-203", "建设工程规划许可"), "ZJJ", "p-sun", 20, False, "yellow"),
]


def _accepted_at(
    target: str, limit: int, green: bool, now: datetime, calendar: WorkingCalendar
) -> datetime:
    """An acceptance instant that puts the case at ``target`` level today."""
    tz = ZoneInfo("Asia/Shanghai")
    today = now.astimezone(tz).date()
    effective = -(-limit // 2) if green else limit
    try:
        if target == "yellow":  # due on the next working day
            day = calendar.subtract_working_days(
                calendar.next_working_day_on_or_after(today + timedelta(days=1)), effective
            )
        elif target == "red":  # due two working days ago
            day = calendar.subtract_working_days(today, effective + 2)
        elif target == "suspended":  # due in two working days, but waiting for an expert review
            day = calendar.subtract_working_days(calendar.add_working_days(today, 2), effective)
        else:
            return now - timedelta(hours=1)
    except CalendarYearUnknown:
        return now - timedelta(hours=1)
    return datetime.combine(day, time(10, 0), tz)


def demo_events(now: datetime, calendar: WorkingCalendar) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for index, (case_no, (code, name), dept, reviewer, limit, green, target) in enumerate(CASES):
        accepted = _accepted_at(target, limit, green, now, calendar)
        events.append(
            {
                "event_id": f"{case_no}-accepted",
                "type": "case.accepted",
                "occurred_at": accepted.isoformat(),
                "case_no": case_no,
                "matter": {"code": code, "name": name},
                "department": {"code": dept, "name": DEPARTMENTS[dept][0]},
                "applicant": {"name": APPLICANTS[index], "mobile": f"1390000{index:04d}"},
                "limit": {"value": limit, "unit": "working_days"},
                "green_channel": green,
            }
        )
        events.append(
            {
                "event_id": f"{case_no}-n1",
                "type": "node.started",
                "occurred_at": (accepted + timedelta(minutes=30)).isoformat(),
                "case_no": case_no,
                "node_id": "n1",
                "name": "审查",
                "department": dept,
                "assignee": {"id": reviewer, "name": PEOPLE[reviewer][0]},
                "limit": {"value": max(1, limit // 3), "unit": "working_days"},
            }
        )
    # One case waits for an expert review: its clock stands still.
    events.append(
        {
            "event_id": "DEMO-0005-suspended",
            "type": "case.suspended",
            "occurred_at": (now - timedelta(hours=2)).isoformat(),
            "case_no": "DEMO-0005",
            "reason": "expert_review",
        }
    )
    return events


async def seed_demo(services: Services) -> str:
    """Seed the demo data once; say what is there."""
    now = services.clock.now()
    async with services.pool.acquire() as conn:
        if await store.get_case(conn, CASES[0][0]) is not None:
            return "demo: data from an earlier start is already there"
        await seed_directory(conn, now, services.vault)
    past = await seed_history(services, now)
    async with services.pool.acquire() as conn:
        result = await ingest_raw(conn, services, demo_events(now, services.calendar), now=now)
    month = history_month(now.astimezone(services.settings.calendar.tz).date())
    return (
        f"demo: {len(PEOPLE)} people, {len(DEPARTMENTS)} departments, {len(CASES)} open cases "
        f"({result.accepted} events new, {result.duplicates} already there), "
        f"{past} cases closed in {month:%Y-%m} (cuiban report --month {month:%Y-%m})"
    )
