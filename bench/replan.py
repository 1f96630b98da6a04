"""Re-planning after a calendar import: open cases and nodes recomputed per second.

    python bench/replan.py                 # 100,000 open cases, one open node each
    python bench/replan.py --cases 20000   # a smaller machine

Seeds N open cases accepted on 2026-12-20 (20 working days, provisional 2027 dates),
each with one open 15-day node and its timers, then imports an official 2027 with
调休 days and times the bulk re-plan: every deadline recomputed, written back in one
statement per chunk and table, timers re-planned, each applicant told once. Goal:
at least 20,000 nodes/s (100k cases well under a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import _common

from core.calendar import parse_year_file
from hub.app import rules_from_policy
from hub.notices.links import LinkSigner
from hub.notices.recipients import Routing
from hub.planning import timers
from hub.planning.replan import replan_years
from hub.settings import load_settings
from hub.signing import Keyring
from hub.store import db
from hub.store.calendars import LiveCalendar, load_calendar

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 1, 10, 10, 0, tzinfo=TZ)
OFFICIAL_2027 = """
year = 2027
source = "bench"

[[holidays]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03

[[holidays]]
name = "测试假日"
date = 2027-01-11

[[holidays]]
name = "春节"
from = 2027-02-05
to = 2027-02-12

[[make_up_workdays]]
name = "春节"
date = 2027-02-14
"""

SEED_CASES = """
INSERT INTO cases (case_no, status, matter_code, matter_name, department_code, department_name,
                   applicant, limit_value, limit_unit, accepted_at, due_date, due_at, warn_at,
                   provisional, stages, created_at, updated_at)
SELECT 'B-' || lpad(i::text, 7, '0'), 'accepted', 'M', '食品经营许可', 'D', '市场监管局',
       '{"name": "张三", "mobile": "13800000000"}'::jsonb, 20, 'working_days',
       '2026-12-20 10:00+08', '2027-01-18', '2027-01-18 23:59:59+08', '2027-01-15 09:00+08',
       true,
       '[{"stage": "decision", "start": "2026-12-20T10:00:00+08:00", "due_date": "2027-01-18",
          "due_at": "2027-01-18T23:59:59+08:00", "warn_at": "2027-01-15T09:00:00+08:00",
          "completed_at": null, "deadline_unknown": false, "provisional": true}]'::jsonb,
       now(), now()
  FROM generate_series(1, $1) AS i;
"""
SEED_NODES = """
INSERT INTO nodes (case_no, node_id, name, department_code, assignee_id, limit_value, limit_unit,
                   started_at, due_date, due_at, warn_at, provisional)
SELECT case_no, 'n1', '审查', 'D', 'p-1', 15, 'working_days', accepted_at,
       '2027-01-11', '2027-01-11 23:59:59+08', '2027-01-08 09:00+08', true
  FROM cases;
"""


async def main(cases: int, url: str | None) -> None:
    settings = load_settings(environ={})
    data_dir = Path(tempfile.mkdtemp(prefix="cuiban-bench-"))
    url = url or await db.resolve_url("", data_dir)
    pool = await db.create_pool(url, max_size=4)
    async with pool.acquire() as conn:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await db.migrate(conn)
        _common.progress(f"seeding {cases:,} open cases with one node each")
        await conn.execute(SEED_CASES, cases)
        await conn.execute(SEED_NODES)
    calendar = LiveCalendar(load_calendar(data_dir), provisional_next_year=True)
    routing = Routing(
        settings=settings, calendar=calendar, links=LinkSigner(keys=Keyring.from_secret(b"bench"))
    )
    async with pool.acquire() as conn:
        names = [r["case_no"] for r in await conn.fetch("SELECT case_no FROM cases")]
        for start in range(0, len(names), 5000):
            await timers.replan(conn, routing, names[start : start + 5000])
    official = calendar.official.with_year(parse_year_file(OFFICIAL_2027))
    calendar.swap(official, revision=1)
    _common.progress("re-planning after the import of an official 2027")
    started = time.perf_counter()
    result = await replan_years(
        pool, routing, rules_from_policy(settings.policy), [2027], now=NOW.astimezone()
    )
    seconds = time.perf_counter() - started
    await pool.close()
    print(f"\nRe-plan after importing 2027 ({cases:,} open cases, one open node each)\n")
    print("| cases | nodes | moved | notices | seconds | cases/s | nodes/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {result.cases:,} | {result.nodes:,} | {result.moved:,} | {result.notices:,} "
        f"| {seconds:.1f} | {result.cases / seconds:,.0f} | {result.nodes / seconds:,.0f} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--url", help="an existing PostgreSQL (its public schema is replaced)")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.url))
    sys.exit(0)
