"""Multi-process dispatch: 1, 2 and 4 ``cuiban serve --role worker`` processes on one database.

    python bench/multi_worker.py           # --workers 1 2 4 --count 20000 --repeats 2

For each worker count, ``--count`` SMS notices due now are written to the
outbox in one transaction (one NOTIFY wakes every worker); the workers, real
processes with the settings below, send them through the Aliyun adapter to the
fake Aliyun (its own process, checking signatures and nonces); the clock runs
from the commit until every row is ``sent``. Duplicates are counted at the
provider: accepted sends minus distinct ``OutId`` values (must be 0).

    [channels.sms] provider = "aliyun"     [dispatch.rates] aliyun = 0
    [dispatch.concurrency] sms = 64        [dispatch] batch_size = 500

The baseline is one worker, in the same run. On a 2-core machine the workers,
PostgreSQL and the fake share two cores, so more processes cannot add CPU here:
the figure shows that they do not get in each other's way (SKIP LOCKED claims)
and that none sends a row twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import _common
import aiohttp
import asyncpg
from _common import (
    Ticker,
    bar_plot,
    fake_server,
    fake_stats,
    hub_config,
    hub_process,
    median,
    progress,
    spread,
)
from _fake_server import KEY_ID, SECRET, SIGN, TEMPLATE
from send_throughput import notices

from hub.notices.outbox import enqueue
from hub.store.db import _init_connection


def settings_extra(base: str, concurrency: int) -> str:
    return f"""
[channels.sms]
provider = "aliyun"

[channels.sms.aliyun]
endpoint = "{base}"
access_key_id = "{KEY_ID}"
access_key_secret = "{SECRET}"
sign_name = "{SIGN}"
link_prefix = "https://zw.gov.cn/"

[channels.sms.aliyun.templates]
case_accepted = "{TEMPLATE}"

[dispatch]
batch_size = 500
max_in_flight = {max(256, 4 * concurrency)}

[dispatch.rates]
aliyun = 0

[dispatch.concurrency]
sms = {concurrency}
"""


async def one_round(
    url: str, base: str, folder: Path, workers: int, count: int, concurrency: int, tag: str
) -> tuple[float, int]:
    """Return (sends/s, duplicates) for ``workers`` processes sending ``count`` notices."""
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    try:
        await conn.execute("TRUNCATE messages, message_attempts CASCADE")
        config = hub_config(folder, url, settings_extra(base, concurrency))
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(workers):
                await stack.enter_async_context(hub_process(config, "worker"))
            now = datetime.now(UTC)
            batch = notices(count, now, tag)
            started = time.perf_counter()
            async with conn.transaction():
                await enqueue(conn, batch, now=now, max_attempts=8, vault=_common.BENCH_VAULT)
            ticker = Ticker(f"{workers} worker(s)", count)
            while True:
                sent = await conn.fetchval("SELECT count(*) FROM messages WHERE status = 'sent'")
                ticker.update(sent)
                if sent >= count:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    async with aiohttp.ClientSession() as session:
        stats = await fake_stats(session, base, reset=True)
    assert stats["distinct"] == count, stats
    return count / elapsed, stats["accepted"] - stats["distinct"]


async def main(args: argparse.Namespace) -> dict[int, float]:
    rates: dict[int, list[float]] = {n: [] for n in args.workers}
    dups: dict[int, int] = dict.fromkeys(args.workers, 0)
    async with _common.scratch_database(args.database_url) as url:
        await _common.fresh_schema(url)
        folder = Path(tempfile.mkdtemp(prefix="cuiban-workers-"))
        async with fake_server() as base:
            for r in range(args.repeats):
                for n in args.workers:
                    progress(f"round {r + 1}/{args.repeats}: {n} worker(s)")
                    rate, dup = await one_round(
                        url, base, folder, n, args.count, args.concurrency, f"w{n}r{r}"
                    )
                    rates[n].append(rate)
                    dups[n] += dup
    first = median(rates[args.workers[0]])
    print(f"\nMulti-process dispatch, {args.count:,} due notices, median of {args.repeats}\n")
    print("| worker processes | sends/s (median) | runs (min–max) | ratio to 1 worker "
          "| duplicates | goal |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---|")
    for n in args.workers:
        value = median(rates[n])
        print(
            f"| {n} | {value:,.0f} | {spread(rates[n])} | {value / first:.2f} | {dups[n]} "
            "| 0 duplicates |"
        )
    bar_plot(
        _common.plot_path(args.plot, "multi_worker.png"),
        f"Sends/s by worker processes, {args.count:,} notices (duplicates: "
        + ", ".join(f"{n}→{dups[n]}" for n in args.workers)
        + ")",
        [f"{n} worker{'s' if n > 1 else ''}" for n in args.workers],
        [median(rates[n]) for n in args.workers],
        ylabel="sends per second",
    )
    return {n: median(rates[n]) for n in args.workers}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default="", help="a scratch database (tables dropped)")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
