"""Against the naive peer: 100k deadlines as Cuiban timers vs one APScheduler 3 job each.

    python bench/vs_apscheduler.py         # --count 100000 --due 1000 --window 20

The same ``--count`` deadlines (``--due`` of them within the next ``--window``
seconds, the rest spread over 30 days) are stored twice on the same PostgreSQL,
each side in a fresh process of its own so its memory is its own:

* **APScheduler 3** — the obvious design: one ``date`` job per deadline in a
  ``SQLAlchemyJobStore`` (psycopg 3 driver), added to a started (paused)
  ``AsyncIOScheduler``; then resumed, each due job recording how late it ran
  (``misfire_grace_time=None`` so none is skipped: kinder to it than the default);
  and the same with APScheduler's default ``MemoryJobStore`` (nothing durable),
  the store whose memory grows with the jobs;
* **Cuiban** — ``timers`` rows written with the planner's own ``upsert_timers``
  (10k per statement, as re-planning does), then fired by the real
  :class:`hub.planning.scheduler.Ticker` (a tick every 5 s plus the in-process wake-up
  for the next due timer), lateness = ``fired_at − fire_at``.

Reported: time to load, resident memory after loading (and its growth from the
empty process), p50/p99/max lateness. The baseline is APScheduler in the same
run. Goals: load ≥ 10× faster, memory ≥ 5× less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common
import psutil
from _common import progress

SIDE_ARGS = ("count", "due", "window")


def plan(count: int, due: int, window: float, start: datetime) -> list[datetime]:
    """When each deadline fires: ``due`` within the window, the rest over 30 days."""
    soon = [start + timedelta(seconds=window * i / max(due, 1)) for i in range(due)]
    rest = count - due
    later = [start + timedelta(days=1 + 29 * i / max(rest, 1)) for i in range(rest)]
    return soon + later


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def lateness(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered
    return {
        "p50": q[49 if len(q) > 1 else 0] * 1000,
        "p99": q[98 if len(q) > 1 else 0] * 1000,
        "max": ordered[-1] * 1000,
    }


# --- APScheduler side -------------------------------------------------------------------

FIRED: list[float] = []


def fire(due_ts: float) -> None:
    """The job every deadline becomes: note how late it ran."""
    FIRED.append(time.time() - due_ts)


async def apscheduler_side(
    url: str, count: int, due: int, window: float, *, memory: bool = False
) -> dict[str, Any]:
    from apscheduler.jobstores.base import BaseJobStore
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    empty = rss_mb()
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    store: BaseJobStore = (
        MemoryJobStore()
        if memory
        else SQLAlchemyJobStore(url=sa_url, tablename="bench_apscheduler_jobs")
    )
    scheduler = AsyncIOScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)
    store.remove_all_jobs()
    ticker = _common.Ticker("apscheduler add_job", count)
    started = time.perf_counter()
    # The far deadlines first; the due ones last, timed from the end of the load.
    instants = plan(count, due, window, datetime.now(UTC))
    order = [*range(due, count), *range(due)]
    for n, i in enumerate(order):
        if n == count - due:
            start = datetime.now(UTC) + timedelta(seconds=5)
            instants[:due] = plan(due, due, window, start)
        when = instants[i]
        scheduler.add_job(
            fire, "date", run_date=when, args=[when.timestamp()], id=f"d{i}",
            misfire_grace_time=None,
        )  # fmt: skip
        ticker.update(n + 1)
    load = time.perf_counter() - started
    start = instants[0] if due else datetime.now(UTC)
    loaded = rss_mb()
    scheduler.resume()
    if due:
        wait = (start - datetime.now(UTC)).total_seconds() + window + 3
        progress(f"apscheduler: waiting {wait:.0f} s for the due jobs")
        await asyncio.sleep(max(wait, 0))
    scheduler.shutdown(wait=False)
    return {
        "load_s": load,
        "rss_mb": loaded,
        "rss_growth_mb": loaded - empty,
        "fired": len(FIRED),
        "lateness": lateness(FIRED),
    }


# --- Cuiban side ------------------------------------------------------------------------


async def cuiban_side(url: str, count: int, due: int, window: float) -> dict[str, Any]:
    from hub.clock import SystemClock
    from hub.metrics import Metrics
    from hub.notices.links import LinkSigner
    from hub.notices.recipients import Routing
    from hub.planning.planner import Planner
    from hub.planning.scheduler import TICK_SECONDS, Ticker
    from hub.planning.timers import PlannedTimer, upsert_timers
    from hub.settings import load_settings
    from hub.signing import Keyring
    from hub.store import db
    from hub.store.calendars import load_calendar

    empty = rss_mb()
    pool = await db.create_pool(url, max_size=4)
    settings = load_settings(environ={})
    planner = Planner(
        Routing(
            settings=settings,
            calendar=load_calendar(Path(tempfile.mkdtemp(prefix="cuiban-bench-"))),
            links=LinkSigner(keys=Keyring.from_secret(b"bench")),
            vault=_common.BENCH_VAULT,
        )
    )
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE timers")
    start = datetime.now(UTC) + timedelta(seconds=5)
    instants = plan(count, due, window, start)
    ticker = _common.Ticker("cuiban upsert_timers", count)
    started = time.perf_counter()
    chunk = 10_000
    for offset in range(0, count, chunk):
        timers = [
            PlannedTimer(
                kind="node_due_soon",
                case_no=f"D-{i:07d}",
                node_id="n1",
                step=0,
                deadline_version=0,
                fire_at=instants[i],
            )
            for i in range(offset, min(offset + chunk, count))
        ]
        async with pool.acquire() as conn, conn.transaction():
            await upsert_timers(conn, timers)
        ticker.update(min(offset + chunk, count))
    load = time.perf_counter() - started
    del timers
    loaded = rss_mb()
    # The tick counts what it fires and sets aside.
    tick = Ticker(pool=pool, clock=SystemClock(), planner=planner, metrics=Metrics())
    end = start + timedelta(seconds=window + 2) if due else datetime.now(UTC)
    progress(f"cuiban: ticking until the {due} due timers have fired")
    while datetime.now(UTC) < end:  # the interval job of hub/planning/scheduler.py, every 5 s
        await tick.tick()
        await asyncio.sleep(min(TICK_SECONDS, max(0.0, (end - datetime.now(UTC)).total_seconds())))
    await tick.tick()
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM fired_at - fire_at) AS late FROM timers"
            " WHERE status = 'fired'"
        )
    await pool.close()
    late = [float(r["late"]) for r in rows]
    return {
        "load_s": load,
        "rss_mb": loaded,
        "rss_growth_mb": loaded - empty,
        "fired": len(late),
        "lateness": lateness(late),
    }


# --- driver -------------------------------------------------------------------------------


async def run_side(side: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """One side in a fresh process: its memory is its own."""
    argv = [sys.executable, __file__, "--side", side, "--database-url", url]
    for name in SIDE_ARGS:
        argv += [f"--{name}", str(getattr(args, name))]
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{side} side failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def row(label: str, r: dict[str, Any], base: dict[str, Any]) -> str:
    late = r["lateness"]
    return (
        f"| {label} | {r['load_s']:.2f} s | {base['load_s'] / r['load_s']:.1f}× "
        f"| {r['rss_mb']:.0f} MB (+{r['rss_growth_mb']:.0f}) "
        f"| {base['rss_mb'] / r['rss_mb']:.1f}× "
        f"| {r['fired']} | {late['p50']:.0f} / {late['p99']:.0f} / {late['max']:.0f} ms |"
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with _common.scratch_database(args.database_url) as url:
        await _common.fresh_schema(url)
        progress("APScheduler side")
        peer = await run_side("apscheduler", url, args)
        progress("APScheduler side, in-memory job store")
        in_memory = await run_side("apscheduler-memory", url, args)
        progress("Cuiban side")
        ours = await run_side("cuiban", url, args)
    print(f"\n{args.count:,} deadlines, {args.due:,} due within {args.window:.0f} s\n")
    print(
        "| | time to load | faster than APScheduler | RSS after load (growth) "
        "| less memory | due fired | lateness p50 / p99 / max |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("baseline: APScheduler 3, SQLAlchemyJobStore, one job each", peer, peer))
    print(row("APScheduler 3, default MemoryJobStore (not durable)", in_memory, peer))
    print(row("**Cuiban** timers (upsert_timers, Ticker)", ours, peer))
    print(
        f"\nGoals: load ≥ 10× faster (measured {peer['load_s'] / ours['load_s']:.1f}×), "
        f"memory ≥ 5× less (measured {peer['rss_mb'] / ours['rss_mb']:.1f}× by RSS, "
        f"{peer['rss_growth_mb'] / max(ours['rss_growth_mb'], 0.1):.1f}× by growth; "
        f"against the in-memory store {in_memory['rss_mb'] / ours['rss_mb']:.1f}× by RSS, "
        f"{in_memory['rss_growth_mb'] / max(ours['rss_growth_mb'], 0.1):.1f}× by growth)"
    )
    path = _common.plot_path(args.plot, "vs_apscheduler.png")
    if path is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), dpi=100)
        names = ["APS\nSQLAlchemy", "APS\nmemory", "Cuiban"]
        sides = (peer, in_memory, ours)
        panels = [
            ("time to load (s)", [r["load_s"] for r in sides]),
            ("RSS after load (MB)", [r["rss_mb"] for r in sides]),
            ("lateness p99 (ms)", [r["lateness"]["p99"] for r in sides]),
        ]
        for ax, (title, values) in zip(axes, panels, strict=True):
            bars = ax.bar(names, values, color=["#9aa5b1", "#c8ced4", "#2f6fb0"])
            ax.tick_params(axis="x", labelsize=8)
            ax.bar_label(bars, labels=[f"{v:,.3g}" for v in values], fontsize=8)
            ax.set_title(title, fontsize=9)
        fig.suptitle(f"{args.count:,} deadlines: one APScheduler job each vs Cuiban timers")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return {"apscheduler": peer, "apscheduler_memory": in_memory, "cuiban": ours}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000, help="deadlines due within the window")
    parser.add_argument("--window", type=float, default=20.0, help="seconds the due ones span")
    parser.add_argument("--database-url", default="", help="a scratch database (tables dropped)")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    parser.add_argument(
        "--side", choices=["apscheduler", "apscheduler-memory", "cuiban"], help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.side:
        from hub.logging import configure_logging

        configure_logging("warning")
        side_args = (arguments.database_url, arguments.count, arguments.due, arguments.window)
        if arguments.side == "cuiban":
            result = asyncio.run(cuiban_side(*side_args))
        else:
            memory = arguments.side == "apscheduler-memory"
            result = asyncio.run(apscheduler_side(*side_args, memory=memory))
        print(json.dumps(result))
    else:
        asyncio.run(main(arguments))
