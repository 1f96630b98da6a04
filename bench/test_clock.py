"""Test-clock stepping: a simulated month on the manual clock, its stops and their cost.

    python bench/test_clock.py                 # 2,000 synthetic cases over 30 days
    python bench/test_clock.py --cases 500     # a quicker look

Replays ``cuiban simulate --synthetic``'s centre (same seed, same 5-minute groups)
on a hub under the manual clock in this process — every advance of the test clock
stops at each instant work falls due and runs the workers there — against an
embedded PostgreSQL with silent channels. Reports wall seconds; the CPU seconds of
this process and of PostgreSQL (``/proc``), which stay comparable when other work
shares the cores; the clock's stops; and the database round trips per stop (every
statement sent on an asyncpg connection, the pool's reset on release included: it
goes through ``Connection.execute`` in every tree; counting costs a little). Goal:
2,000 cases over 30 days in under a minute.

An older tree can be measured with this script: ``PYTHONPATH=<tree> python
bench/test_clock.py`` (the counters patch asyncpg and ``hub.lifecycle``, nothing else).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import _common
from asyncpg.connection import Connection

import hub.lifecycle
from hub.logging import configure_logging
from hub.settings import load_settings
from hub.simulate.scenario import synthetic
from hub.simulate.session import simulate
from hub.store import db
from hub.store.calendars import load_calendar

ROUND_TRIPS: Counter[str] = Counter()
STOPS = [0]


def count_round_trips() -> None:
    """Count every statement (a pool reset is one too) and every stop of the test clock."""
    execute_with_args = Connection._execute
    execute_plain = Connection.execute
    stop = hub.lifecycle._stop

    async def _execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        ROUND_TRIPS["statements"] += 1
        return await execute_with_args(self, query, *args, **kwargs)

    async def execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, counted there
            ROUND_TRIPS["statements"] += 1
        return await execute_plain(self, query, *args, **kwargs)

    async def _stop(*args: Any, **kwargs: Any) -> Any:
        STOPS[0] += 1
        return await stop(*args, **kwargs)

    Connection._execute = _execute  # type: ignore[method-assign]
    Connection.execute = execute  # type: ignore[method-assign]
    hub.lifecycle._stop = _stop  # type: ignore[assignment]


async def main(cases: int, days: int, seed: int) -> None:
    settings = load_settings(environ={})
    configure_logging("warning", "console", stream=sys.stderr)
    logging.getLogger().setLevel(logging.WARNING)
    calendar = load_calendar(settings.database.data_dir, settings.calendar.year_files)
    scenario = synthetic(seed=seed, cases=cases, days=days, calendar=calendar)
    folder = Path(tempfile.mkdtemp(prefix="cuiban-bench-clock-"))
    try:
        url = await db.resolve_url("", folder)
        pgdata = db.embedded_pgdata(folder)
        count_round_trips()
        _common.progress(f"replaying {cases:,} cases over {days} days")
        wall, cpu, db_cpu = time.perf_counter(), time.process_time(), _common.postgres_cpu(pgdata)
        outcome = await simulate(
            settings,
            scenario,
            database_url=url,
            data_dir=folder,
            resolution=timedelta(minutes=5),
        )
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        db_cpu = _common.postgres_cpu(pgdata) - db_cpu
    finally:
        await asyncio.to_thread(db.stop_embedded, db.embedded_pgdata(folder))
        shutil.rmtree(folder, ignore_errors=True)
    stops = max(1, STOPS[0])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nA simulated month on the manual clock (load average {load})\n")
    print(
        "| cases | actions | messages | stops | seconds | own CPU s | PostgreSQL CPU s "
        "| round trips per stop | invariants |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {cases:,} | {len(scenario.actions):,} | {len(outcome.log):,} | {STOPS[0]:,} "
        f"| {wall:.1f} | {cpu:.1f} | {db_cpu:.1f} "
        f"| {ROUND_TRIPS['statements'] / stops:.1f} "
        f"| {'hold' if not outcome.broken else 'broken: ' + ', '.join(outcome.broken)} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.days, args.seed))
