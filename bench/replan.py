"""Re-planning after a calendar import: open nodes re-planned per second, and the floor.

    python bench/replan.py                 # 100,000 open cases, one open node each
    python bench/replan.py --cases 20000   # a smaller machine
    REPLAN_PROFILE=/tmp/replan python bench/replan.py --cases 20000   # cProfile of each run

Seeds N open cases accepted on 2026-12-20 (20 working days, provisional 2027 dates),
each with one open 15-day node and its four timers, then measures in one run:

- **bare SQL** (the floor): one transaction that moves the same rows with plain
  ``UPDATE``s — every open case's and node's dates by a day, every pending timer —
  and rolls back. What a re-plan cannot beat: it writes at least this.
- **every date moves**: an official 2027 with 调休 days is imported and the bulk
  re-plan runs — every deadline recomputed and written, timers re-planned, each
  applicant told once (100% of them here: the worst case).
- **nothing moves**: the same year imported again — every deadline and timer
  recomputed, nothing written but what changed, nobody told.

Beside wall seconds it reports the CPU seconds of this process and of PostgreSQL
(``/proc``), which stay comparable when other work shares the cores. Goal: at least
20,000 nodes/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import os
import sys
import tempfile
import time
from collections.abc import Iterator
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


BARE_SQL = """
UPDATE cases SET due_date = due_date + 1, due_at = due_at + interval '1 day',
                 warn_at = warn_at + interval '1 day', deadline_version = deadline_version + 1,
                 updated_at = now()
 WHERE closed_at IS NULL;
UPDATE nodes SET due_date = due_date + 1, due_at = due_at + interval '1 day',
                 warn_at = warn_at + interval '1 day', deadline_version = deadline_version + 1
 WHERE completed_at IS NULL;
UPDATE timers SET fire_at = fire_at + interval '1 day' WHERE status = 'pending';
"""


class Meter:
    """Wall, own-CPU and PostgreSQL-CPU seconds of one measured block."""

    def __init__(self, pgdata: Path | None) -> None:
        self.pgdata = pgdata
        self.seconds = self.cpu = self.db_cpu = 0.0

    def __enter__(self) -> Meter:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        self._db = _common.postgres_cpu(self.pgdata) if self.pgdata else 0.0
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.db_cpu = _common.postgres_cpu(self.pgdata) - self._db if self.pgdata else float("nan")


@contextlib.contextmanager
def _profiled(name: str) -> Iterator[None]:
    """``REPLAN_PROFILE=PREFIX``: cProfile of the run, written to PREFIX.NAME (pstats)."""
    prefix = os.environ.get("REPLAN_PROFILE")
    if not prefix:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(f"{prefix}.{name}")


async def main(cases: int, url: str | None) -> None:
    settings = load_settings(environ={})
    data_dir = Path(tempfile.mkdtemp(prefix="cuiban-bench-"))
    pgdata = None if url else db.embedded_pgdata(data_dir)
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
        settings=settings,
        calendar=calendar,
        links=LinkSigner(keys=Keyring.from_secret(b"bench")),
        vault=_common.BENCH_VAULT,
    )
    async with pool.acquire() as conn:
        names = [r["case_no"] for r in await conn.fetch("SELECT case_no FROM cases")]
        for start in range(0, len(names), 5000):
            await timers.replan(conn, routing, names[start : start + 5000])
        await conn.execute("VACUUM ANALYZE")
        _common.progress("bare SQL: the same rows moved by plain UPDATEs, rolled back")
        with Meter(pgdata) as bare:
            moving_rows = conn.transaction()
            await moving_rows.start()
            await conn.execute(BARE_SQL)
            await moving_rows.rollback()  # the writes are done; the re-plans start from the seed
    # As `cuiban serve` does once it serves (hub/heap.py), done here so that an older
    # tree measured with this script (A/B) runs with the same collector settings.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    official = calendar.official.with_year(parse_year_file(OFFICIAL_2027))
    calendar.swap(official, revision=1)
    rules = rules_from_policy(settings.policy)
    _common.progress("re-planning after the import of an official 2027 (every date moves)")
    with Meter(pgdata) as moving, _profiled("moving"):
        moved = await replan_years(pool, routing, rules, [2027], now=NOW.astimezone())
    _common.progress("re-planning after importing the same 2027 again (nothing moves)")
    with Meter(pgdata) as still, _profiled("still"):
        same = await replan_years(pool, routing, rules, [2027], now=NOW.astimezone())
    await pool.close()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nRe-plan of {cases:,} open cases, one open node each (load average {load})\n")
    print(
        "| run | nodes | moved | notices | seconds | nodes/s | × bare SQL time "
        "| own CPU s | PostgreSQL CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [
        ("bare SQL UPDATE (floor)", cases, cases, 0, bare),
        ("import: every date moves", moved.nodes, moved.moved, moved.notices, moving),
        ("same year again: nothing moves", same.nodes, same.moved, same.notices, still),
    ]
    for name, nodes, n_moved, notices, m in rows:
        print(
            f"| {name} | {nodes:,} | {n_moved:,} | {notices:,} | {m.seconds:.1f} "
            f"| {nodes / m.seconds:,.0f} | {m.seconds / bare.seconds:.1f} "
            f"| {m.cpu:.1f} | {m.db_cpu:.1f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--url", help="an existing PostgreSQL (its public schema is replaced)")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.url))
    sys.exit(0)
