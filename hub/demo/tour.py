"""``cuiban demo``: a self-contained tour on a throwaway embedded database and a fast clock.

Twelve cases in two departments go through their approval nodes over two
simulated weeks in March 2026 — one on the green channel, one suspended for an
expert review, a few left to run late, the first one picked up rated 1 star and
followed up (好差评: the head told, the call-back, the answer to the applicant) —
while the clock jumps half an hour every few milliseconds. Every notice is
printed as the console channel sends it; a supervision table closes the tour.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from core.levels import verdict_for
from hub.app import create_app, running
from hub.clock import ManualClock
from hub.demo.directory import (
    APPLICANTS,
    DEPARTMENTS,
    MATTERS,
    PEOPLE,
    REVIEWERS,
    seed_directory,
)
from hub.demo.history import seed_history
from hub.demo.ingest import ingest_raw
from hub.keys import SERVICES, TEST_CLOCK_HOOKS
from hub.lifecycle import ClockWorker, advance_test_clock
from hub.logging import configure_logging
from hub.rectifications import service as rectifications
from hub.replies.evaluations import rate_case
from hub.services import Services
from hub.settings import ChannelsSettings, Settings
from hub.store import db
from hub.supervision.urges import urge_case

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)  # a Monday
END = datetime(2026, 3, 14, 12, 0, tzinfo=TZ)
STEP = timedelta(minutes=30)
WEEKDAYS = "一二三四五六日"

NODES = (("n1", "受理审查", 1), ("n2", "审核", 2), ("n3", "审批", 1))
# How each case's nodes go: hours after a node starts until it is completed,
# None leaves it open. Late ones run past their working-day limits.
PATTERNS: dict[str, tuple[int | None, ...]] = {
    "prompt": (3, 5, 2),
    "steady": (20, 26, 4),
    "late": (6, 200, 3),
    "stuck": (4, None, None),
}
PLAN = [
    # department, pattern, green channel, suspended (from day, to day)
    ("SCJG", "prompt", False, None),
    ("SCJG", "steady", False, None),
    ("SCJG", "prompt", True, None),
    ("SCJG", "late", False, None),
    ("SCJG", "steady", False, (1, 4)),
    ("SCJG", "stuck", False, None),
    ("ZJJ", "prompt", False, None),
    ("ZJJ", "steady", False, None),
    ("ZJJ", "late", False, None),
    ("ZJJ", "prompt", False, None),
    ("ZJJ", "stuck", False, None),
    ("ZJJ", "steady", False, None),
]


@dataclass(frozen=True)
class Scheduled:
    at: datetime
    # or {"urge": case_no}: the supervisor urges the case; {"rate" | "verify" | "close":
    # case_no}: the applicant rates it 1 star, the head calls back, the head answers
    event: dict[str, Any]


_ACTIONS = ("urge", "rate", "verify", "close")


# The supervisor urges the stuck cases on the Tuesday of the second week.
URGE_AT = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)


def _event(kind: str, case_no: str, at: datetime, n: int, **fields: Any) -> Scheduled:
    body = {"event_id": f"{case_no}-{n:02d}-{kind}", "type": kind, "case_no": case_no}
    return Scheduled(at=at, event=body | {"occurred_at": at.isoformat()} | fields)


# Long on purpose: the tour's story, one step a line, in the order a reader sees it.
def script() -> list[Scheduled]:
    """Every event of the tour, at the simulated instant it happens."""
    out: list[Scheduled] = []
    for index, (dept, pattern, green, suspended) in enumerate(PLAN):
        case_no = f"2026030{2 if index < 8 else 3}-{index + 1:04d}"
        accepted = START + timedelta(hours=1, minutes=20 * index)
        if index >= 8:
            accepted += timedelta(days=1)
        code, matter = MATTERS[dept][index % 3]
        n = 0
        out.append(
            _event(
                "case.accepted",
                case_no,
                accepted,
                n,
                matter={"code": code, "name": matter},
                department={"code": dept, "name": DEPARTMENTS[dept][0]},
                applicant={"name": APPLICANTS[index], "mobile": f"1390000{index:04d}"},
                limit={"value": 5, "unit": "working_days"},
                green_channel=green,
            )
        )
        moment = accepted + timedelta(minutes=10)
        finished = True
        for (node_id, name, limit), hours in zip(NODES, PATTERNS[pattern], strict=True):
            n += 1
            reviewer = REVIEWERS[dept][index % 2]
            out.append(
                _event(
                    "node.started",
                    case_no,
                    moment,
                    n,
                    node_id=node_id,
                    name=name,
                    department=dept,
                    assignee={"id": reviewer, "name": PEOPLE[reviewer][0]},
                    limit={"value": limit, "unit": "working_days"},
                )
            )
            if hours is None:
                finished = False
                break
            moment += timedelta(hours=hours)
            n += 1
            out.append(
                _event("node.completed", case_no, moment, n, node_id=node_id, outcome="pass")
            )
            moment += timedelta(minutes=20)
        if suspended:
            first, last = suspended
            out.append(
                _event(
                    "case.suspended",
                    case_no,
                    accepted + timedelta(days=first),
                    90,
                    reason="expert_review",
                )
            )
            out.append(_event("case.resumed", case_no, accepted + timedelta(days=last), 91))
        if finished:
            out.append(_event("case.decided", case_no, moment, 92, decision="approved"))
            ready = moment + timedelta(hours=20)
            out.append(
                _event(
                    "case.ready_for_pickup",
                    case_no,
                    ready,
                    93,
                    location="市民中心B区3号窗口",
                    hours="工作日9:00-17:00",
                    documents=["身份证原件", "受理通知书"],
                )
            )
            out.append(_event("case.picked_up", case_no, ready + timedelta(hours=5), 94))
        if pattern == "stuck":
            out.append(Scheduled(at=URGE_AT, event={"urge": case_no}))
    out.sort(key=lambda s: s.at)
    # 好差评: the first case picked up is rated 1 star once its evaluation prompt is out,
    # verified the next morning and answered the day after.
    picked = next(s for s in out if s.event.get("type") == "case.picked_up")
    rated = picked.at + timedelta(hours=2)
    case_no = picked.event["case_no"]
    out += [
        Scheduled(at=rated, event={"rate": case_no}),
        Scheduled(at=rated + timedelta(days=1), event={"verify": case_no}),
        Scheduled(at=rated + timedelta(days=2), event={"close": case_no}),
    ]
    return sorted(out, key=lambda s: s.at)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


async def supervision_table(services: Services, now: datetime) -> str:
    async with services.pool.acquire() as conn:
        # The tour's own fortnight, not the month of history before it.
        cases = await conn.fetch(
            "SELECT department_name, due_date, due_at, completed_at, urges FROM cases"
            " WHERE accepted_at >= $1 ORDER BY department_name",
            START,
        )
        sent = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE status IN ('sent', 'delivered')"
            " AND created_at >= $1",
            START,
        )
    by_dept: dict[str, list[Any]] = {}
    for row in cases:
        by_dept.setdefault(row["department_name"], []).append(row)
    rows = [["部门", "受理", "办结", "提前", "按时", "超期", "在办", "在办超期", "催办", "办结率"]]
    for name, items in by_dept.items():
        closed = [r for r in items if r["completed_at"]]
        verdicts = [
            verdict_for(due_date=r["due_date"], due_at=r["due_at"], closed_at=r["completed_at"])
            for r in closed
        ]
        open_ = [r for r in items if not r["completed_at"]]
        rows.append(
            [
                name,
                str(len(items)),
                str(len(closed)),
                str(verdicts.count("early")),
                str(verdicts.count("on_time")),
                str(verdicts.count("late")),
                str(len(open_)),
                str(sum(1 for r in open_ if r["due_at"] < now)),
                str(sum(r["urges"] for r in items)),
                f"{100 * len(closed) / len(items):.1f}%",
            ]
        )
    return table(rows) + f"\n\n已发送通知 {sent} 条。"


async def run_tour(
    settings: Settings, *, out: TextIO = sys.stdout, step_pause: float = 0.002
) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="cuiban-demo-"))
    try:
        url = await db.resolve_url("", data_dir)
        clock = ManualClock(START)
        # Everything the hub writes (the monthly report's files too) stays in the throwaway folder.
        database = settings.database.model_copy(update={"data_dir": data_dir})
        settings = settings.model_copy(update={"database": database})
        app = create_app(settings, clock=clock, database_url=url, role="all")
        async with running(app):
            services = app[SERVICES]
            await _walk(services, app[TEST_CLOCK_HOOKS], clock, out, step_pause)
            out.write("\n━━ 电子监察 · 办件统计 (截至 " + _local(clock.now()) + ") ━━\n")
            out.write(await supervision_table(services, clock.now()) + "\n")
        return 0
    finally:
        await asyncio.to_thread(db.stop_embedded, db.embedded_pgdata(data_dir))
        shutil.rmtree(data_dir, ignore_errors=True)


def _local(instant: datetime) -> str:
    local = instant.astimezone(TZ)
    return f"{local:%Y-%m-%d %H:%M} 星期{WEEKDAYS[local.weekday()]}"


async def _walk(
    services: Services,
    hooks: list[ClockWorker],
    clock: ManualClock,
    out: TextIO,
    step_pause: float,
) -> None:
    async with services.pool.acquire() as conn:
        await seed_directory(conn, clock.now(), services.vault)
    # February lived through: the monthly report that goes out on the first morning has figures.
    past = await seed_history(services, clock.now())
    pending = script()
    total_steps = int((END - START) / STEP)
    day: date | None = None
    out.write(
        f"Cuiban 演示：{len(PLAN)} 件办件，2 个部门，模拟时间 {_local(START)} 起，每步 30 分钟。\n"
        f"上个月已办结 {past} 件，月报在本月第一个工作日发给监察人员。\n"
    )
    for step in range(total_steps + 1):
        now = clock.now()
        local_day = now.astimezone(TZ).date()
        if local_day != day:
            day = local_day
            working = "工作日" if services.calendar.is_working_day(day) else "休息日"
            out.write(
                f"\n━━ {day.isoformat()} 星期{WEEKDAYS[day.weekday()]}（{working}）"
                f" · 进度 {100 * step // total_steps}% ━━\n"
            )
        due = [s for s in pending if s.at <= now]
        pending = pending[len(due) :]
        events = [s.event for s in due if not any(a in s.event for a in _ACTIONS)]
        if events:
            async with services.pool.acquire() as conn:
                await ingest_raw(conn, services, events, now=now)
        for action in (
            s.event for s in due if any(a in s.event for a in ("rate", "verify", "close"))
        ):
            await _poor_rating_step(services, action, now)
        for urged in (s.event["urge"] for s in due if "urge" in s.event):
            async with services.pool.acquire() as conn:
                await urge_case(
                    conn,
                    services.routing,
                    urged,
                    by="p-jc",
                    note="请加快办理",
                    now=now,
                    max_attempts=services.settings.policy.max_attempts,
                    audit_as=("supervisor", "周监察 (demo)"),
                )
        out.flush()
        await advance_test_clock(hooks, clock, now + STEP)
        await asyncio.sleep(step_pause)
    out.write("\n━━ 进度 100% ━━\n")


async def _poor_rating_step(services: Services, action: dict[str, Any], now: datetime) -> None:
    """One step of the 好差评 loop, as the applicant's SMS and the head's API calls make it."""
    routing = services.routing
    async with services.pool.acquire() as conn:
        if "rate" in action:
            await rate_case(
                conn,
                action["rate"],
                1,
                comment="窗口让我跑了两趟才收齐材料",
                source="sms",
                now=now,
                routing=routing,
            )
            return
        case_no = action.get("verify") or action.get("close")
        rect_id = await conn.fetchval(
            "SELECT id FROM rectifications WHERE case_no = $1 AND status <> 'closed'", case_no
        )
        if rect_id is None:
            return
        if "verify" in action:
            await rectifications.verify(
                conn,
                rect_id,
                by="p-scjg-head",
                finding="电话回访属实：材料清单未一次告知",
                now=now,
                vault=routing.vault,
            )
        else:
            await rectifications.close(
                conn,
                routing,
                rect_id,
                by="p-scjg-head",
                outcome="rectified",
                reply="已核实并整改：窗口改为一次性告知材料清单。感谢您的监督！",
                now=now,
            )


def demo(settings: Settings, *, verbose: bool = False) -> int:
    """Run the tour with the console channel, whatever providers the config names.

    The tour is the product's first impression: the hub's logs go to a file named
    at the start and the end, unless ``verbose`` puts them on the terminal.
    """
    console_only = settings.model_copy(update={"channels": ChannelsSettings()})
    if verbose:
        configure_logging(settings.logging.level, settings.logging.format)
        return asyncio.run(run_tour(console_only))
    handle, name = tempfile.mkstemp(prefix="cuiban-demo-", suffix=".log")
    with open(handle, "w", encoding="utf-8") as log_file:
        configure_logging(settings.logging.level, "json", stream=log_file)
        # Libraries' own warnings (aiohttp, APScheduler, asyncpg) go to the same file.
        root = logging.getLogger()
        handler = logging.StreamHandler(log_file)
        root.addHandler(handler)
        try:
            print(f"日志写入 {name}（--verbose 显示在终端）", flush=True)
            code = asyncio.run(run_tour(console_only))
        finally:
            root.removeHandler(handler)
            configure_logging(settings.logging.level, settings.logging.format)
    print(f"\n日志：{name}", flush=True)
    return code
