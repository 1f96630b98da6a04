"""Scheduler cost at scale: tick time with 10k, 100k and 1M pending timers, same due work.

    python bench/tick_cost.py                       # sizes 10000 100000 1000000
    python bench/tick_cost.py --sizes 10000 100000  # smaller machine

The figure that matters is the ratio of the tick's time at each size to its
time at the smallest size, measured in the same run on the same database: the
tick reads due timers through a partial index, so its cost should follow the
due work (the same 100 nodes each time), not the pending work.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import _common
import asyncpg

from core.events import EVENT_ADAPTER
from hub.app import rules_from_policy
from hub.notices.links import LinkSigner
from hub.notices.recipients import Routing
from hub.planning.planner import Planner
from hub.settings import load_settings
from hub.signing import Keyring
from hub.store import db
from hub.store import ingest as store
from hub.store.calendars import load_calendar

TZ = ZoneInfo("Asia/Shanghai")
ACCEPTED = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)  # every bench node is overdue by then
DUE_NODES = 100


def progress(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


async def seed_due_work(conn: asyncpg.Connection, planner: Planner, settings: object) -> None:
    raws = []
    for i in range(DUE_NODES):
        case_no = f"DUE-{i:04d}"
        raws.append(
            {
                "event_id": f"{case_no}-a",
                "type": "case.accepted",
                "case_no": case_no,
                "occurred_at": ACCEPTED.isoformat(),
                "matter": {"code": "M", "name": "食品经营许可"},
                "department": {"code": "D", "name": "市场监管局"},
                "applicant": {"name": "张三", "mobile": "13800000000"},
                "limit": {"value": 20, "unit": "working_days"},
            }
        )
        raws.append(
            {
                "event_id": f"{case_no}-n",
                "type": "node.started",
                "case_no": case_no,
                "occurred_at": ACCEPTED.isoformat(),
                "node_id": "n1",
                "name": "审查",
                "department": "D",
                "assignee": {"id": f"p-{i % 10}", "name": "李四"},
                "limit": {"value": 2, "unit": "working_days"},
            }
        )
    items = [store.IncomingEvent(raw=r, event=EVENT_ADAPTER.validate_python(r)) for r in raws]
    await store.ingest(
        conn,
        items,
        now=ACCEPTED,
        calendar=planner.routing.calendar,
        rules_for=rules_from_policy(planner.routing.settings.policy),
        vault=_common.BENCH_VAULT,
        after=planner.after_ingest,
    )
    await conn.execute("DELETE FROM messages")


async def add_pending(conn: asyncpg.Connection, count: int) -> None:
    """Timers far in the future: pending work that is not due."""
    await conn.execute(
        """
        INSERT INTO timers (kind, case_no, node_id, step, deadline_version, fire_at)
        SELECT 'node_due_soon', 'FUTURE-' || g, 'n1', 0, 0,
               $1::timestamptz + g * interval '1 second'
          FROM generate_series((SELECT count(*) FROM timers) + 1, $2) AS g
        """,
        NOW + timedelta(days=30),
        count,
    )
    await conn.execute("ANALYZE timers")


async def reset_due(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM messages")
    await conn.execute("DELETE FROM timers WHERE case_no LIKE 'DUE-%' AND step > 0")
    await conn.execute(
        "UPDATE timers SET status = 'pending', fired_at = NULL"
        " WHERE case_no LIKE 'DUE-%' AND status = 'fired'"
    )


async def measure(pool: asyncpg.Pool, planner: Planner, repeats: int) -> tuple[float, int]:
    times = []
    fired = 0
    for _ in range(repeats):
        async with pool.acquire() as conn:
            await reset_due(conn)
        started = time.perf_counter()
        fired = await planner.fire_due(pool, NOW)
        await planner.next_fire_at(pool)
        times.append(time.perf_counter() - started)
    return statistics.median(times), fired


async def main(sizes: list[int], repeats: int, url: str | None, plot: str = "") -> None:
    settings = load_settings(environ={})
    data_dir = Path(tempfile.mkdtemp(prefix="cuiban-bench-"))
    url = url or await db.resolve_url("", data_dir)
    pool = await db.create_pool(url, max_size=4)
    async with pool.acquire() as conn:
        # Every table, whichever migrations added it: each run starts from an empty schema.
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await db.migrate(conn)
    calendar = load_calendar(data_dir)
    planner = Planner(
        Routing(
            settings=settings,
            calendar=calendar,
            links=LinkSigner(keys=Keyring.from_secret(b"bench")),
            vault=_common.BENCH_VAULT,
        )
    )
    async with pool.acquire() as conn:
        await seed_due_work(conn, planner, settings)
    await measure(pool, planner, 3)  # warm caches and prepared statements before timing
    rows = []
    for size in sorted(sizes):
        progress(f"{size:,} pending timers")
        async with pool.acquire() as conn:
            await add_pending(conn, size)
        seconds, fired = await measure(pool, planner, repeats)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((size, seconds, fired, rss_mb))
    await pool.close()
    base = rows[0][1]
    print(f"\nTick cost ({DUE_NODES} overdue nodes due each time; median of {repeats} ticks)\n")
    print("| pending timers | tick (ms) | ratio to smallest | timers fired | RSS (MB) |")
    print("|---:|---:|---:|---:|---:|")
    for size, seconds, fired, rss in rows:
        print(f"| {size:,} | {seconds * 1000:.1f} | {seconds / base:.2f} | {fired} | {rss:.0f} |")
    _common.bar_plot(
        _common.plot_path(plot, "tick_cost.png"),
        f"Tick time by pending timers ({DUE_NODES} overdue nodes due; ratio to smallest)",
        [f"{size:,}" for size, *_ in rows],
        [seconds / base for _, seconds, *_ in rows],
        ylabel="tick time / smallest size",
        goal=1.5,
        goal_label="goal ≤ 1.5",
    )
    db.stop_embedded(db.embedded_pgdata(data_dir))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--database-url", help="a scratch database (its tables are dropped)")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.repeats, args.database_url, args.plot))
