"""``cuiban simulate``: replay events (or a synthetic centre) on a throwaway embedded database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hub.logging import configure_logging
from hub.settings import Settings
from hub.simulate.scenario import Scenario, load_events, synthetic
from hub.simulate.session import simulate, summary, write_outputs
from hub.store import db
from hub.store.calendars import load_calendar


def with_server_settings(url: str, **settings: str) -> str:
    """``url`` with PostgreSQL settings for its sessions (asyncpg reads extra parameters so)."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), *settings.items()])
    return urlunsplit(parts._replace(query=query))


def _progress(fraction: float, note: str) -> None:
    sys.stderr.write(f"\rsimulating: {100 * fraction:5.1f}%  ({note} actions)")
    sys.stderr.flush()


async def _run(args: argparse.Namespace, settings: Settings, scenario: Scenario) -> int:
    folder = Path(tempfile.mkdtemp(prefix="cuiban-simulate-"))
    began = time.monotonic()
    try:
        # A throwaway database: a commit need not wait for its WAL to reach the disk.
        url = with_server_settings(await db.resolve_url("", folder), synchronous_commit="off")
        outcome = await simulate(
            settings,
            scenario,
            database_url=url,
            data_dir=folder,
            resolution=timedelta(minutes=args.resolution),
            progress=_progress,
        )
    finally:
        await asyncio.to_thread(db.stop_embedded, db.embedded_pgdata(folder))
        shutil.rmtree(folder, ignore_errors=True)
    sys.stderr.write(f"\ndone in {time.monotonic() - began:.1f} s\n")
    sms = settings.channels.sms
    sign = str(getattr(getattr(sms, sms.provider, None), "sign_name", "") or "")
    sys.stdout.write(summary(outcome, sms_price=args.sms_price, sign_name=sign))
    if args.out is not None:
        for path in write_outputs(outcome, args.out):
            sys.stdout.write(f"wrote {path}\n")
    return 1 if outcome.broken else 0


def simulate_command(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every invariant held, 1 when one broke (the summary names it)."""
    if args.events is not None:
        scenario = load_events(args.events)
        what = f"{len(scenario.actions)} events from {args.events}"
    else:
        calendar = load_calendar(settings.database.data_dir, settings.calendar.year_files)
        scenario = synthetic(seed=args.seed, cases=args.cases, days=args.days, calendar=calendar)
        what = f"{args.cases} synthetic cases over {args.days} days (seed {args.seed})"
    sys.stderr.write(f"cuiban simulate: {what}\n")
    # The hub's own logs would drown the summary: warnings and worse only, on stderr.
    configure_logging("warning", "console", stream=sys.stderr)
    logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(_run(args, settings, scenario))
