"""Fire lateness of the outbox dispatcher: 10k notices due within one minute.

    python bench/dispatch_lateness.py [--count 10000] [--spread 60] [--database-url URL]

Stores ``--count`` SMS notices whose ``not_before`` is spread evenly over
``--spread`` seconds, runs one in-process :class:`hub.delivery.dispatcher.Dispatcher`
(system clock, LISTEN/poll loop, the generic HTTP SMS adapter) against a
loopback gateway, and reports p50/p99/max of ``sent_at − not_before`` and of
``gateway arrival − not_before``. The baseline, measured in the same run
against the same gateway, is a bare aiohttp client that posts each message at
its due instant from an in-memory timer (``loop.call_at``): what the network
and the event loop cost with no database at all.

Without ``--database-url`` an embedded PostgreSQL is started in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import _common
import aiohttp
import asyncpg
from aiohttp import web

from channels.render import EXAMPLES
from core.notices import ChannelKind, NoticeKind
from hub.clock import SystemClock
from hub.delivery.dispatcher import Dispatcher
from hub.delivery.registry import open_channels
from hub.logging import configure_logging
from hub.notices.outbox import Address, Notice, enqueue
from hub.settings import ChannelsSettings, DispatchSettings
from hub.store import db


class Gateway:
    """A loopback SMS gateway that answers at once and notes when each message arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # msg_id -> time.time()
        app = web.Application()
        app.router.add_post("/sms/send", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        data = json.loads(await request.read())
        self.arrivals[str(data["msg_id"])] = time.time()
        return web.json_response({"code": "0", "msg_id": f"gw-{data['msg_id']}"})

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/sms/send"

    async def close(self) -> None:
        await self.runner.cleanup()


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": q[49] * 1000, "p99": q[98] * 1000, "max": ordered[-1] * 1000}


def line(label: str, stats: dict[str, float]) -> str:
    return f"| {label} | {stats['p50']:.1f} ms | {stats['p99']:.1f} ms | {stats['max']:.1f} ms |"


async def baseline(gateway: Gateway, count: int, spread: float, lead: float) -> list[float]:
    """A bare client posting each message at its due instant from an in-memory timer."""
    gateway.arrivals.clear()
    loop = asyncio.get_running_loop()
    start_wall, start_loop = time.time() + lead, loop.time() + lead
    due = [start_wall + spread * i / count for i in range(count)]
    done: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:

        async def post(i: int) -> None:
            body = {"mobile": f"138{i:08d}", "content": "x", "msg_id": f"b{i}"}
            async with session.post(gateway.url, json=body) as response:
                await response.read()
            done[f"b{i}"] = time.time()

        tasks: list[asyncio.Task[None]] = []
        for i in range(count):
            loop.call_at(
                start_loop + spread * i / count,
                lambda i=i: tasks.append(asyncio.ensure_future(post(i))),
            )
        await asyncio.sleep(lead + spread + 0.5)  # every timer has fired by now
        await asyncio.gather(*tasks)
    return [done[f"b{i}"] - due[i] for i in range(count)]


async def dispatcher_run(
    url: str, gateway: Gateway, count: int, spread: float, lead: float
) -> tuple[list[float], list[float]]:
    gateway.arrivals.clear()
    pool = await db.create_pool(url, min_size=2, max_size=10)
    channels = None
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn)
            await conn.execute("TRUNCATE messages CASCADE")
        settings = ChannelsSettings.model_validate(
            {"sms": {"provider": "http", "http": {"url": gateway.url, "success_rule": "code=0"}}}
        )
        clock = SystemClock()
        channels = await open_channels(settings, clock=clock.now)
        # No provider rate limit here: the bench measures the dispatcher, not the pacing.
        dispatcher = Dispatcher(
            pool=pool,
            clock=clock,
            channels=channels,
            vault=_common.BENCH_VAULT,
            settings=DispatchSettings(rates={"http": 0}),
        )
        now = datetime.now(UTC)
        start = now + timedelta(seconds=lead)
        context = {**EXAMPLES[NoticeKind.CASE_ACCEPTED], "link": "https://zw.gov.cn/c/1"}
        notices = [
            Notice(
                kind=NoticeKind.CASE_ACCEPTED,
                dedupe_key=f"bench-{i}",
                addresses=[Address(channel=ChannelKind.SMS, recipient=f"138{i:08d}")],
                context=context,
                not_before=start + timedelta(seconds=spread * i / count),
                case_no=f"B-{i}",
            )
            for i in range(count)
        ]
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, notices, now=now, max_attempts=8, vault=_common.BENCH_VAULT)
        await dispatcher.start()
        try:
            await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + spread))
            while True:
                async with pool.acquire() as conn:
                    left = await conn.fetchval(
                        "SELECT count(*) FROM messages WHERE status <> 'sent'"
                    )
                if left == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            await dispatcher.stop()
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT id, not_before, sent_at FROM messages")
        sent = [(r["sent_at"] - r["not_before"]).total_seconds() for r in rows]
        arrived = [gateway.arrivals[str(r["id"])] - r["not_before"].timestamp() for r in rows]
        return sent, arrived
    finally:
        if channels is not None:
            await channels.aclose()
        await pool.close()


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times span")
    parser.add_argument("--lead", type=float, default=3.0, help="seconds before the first is due")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    args = parser.parse_args(argv)
    configure_logging("warning")  # one log line per notice would be part of the measurement

    folder = None
    url = args.database_url
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="cuiban-bench-"))
        url = await asyncio.to_thread(db.embedded_url, folder / "pg")
        admin = await asyncpg.connect(url)
        try:
            await admin.execute("CREATE DATABASE cuiban_bench")
        finally:
            await admin.close()
        url = urlunsplit(urlsplit(url)._replace(path="/cuiban_bench"))
    gateway = Gateway()
    await gateway.start()
    try:
        base = await baseline(gateway, args.count, args.spread, args.lead)
        sent, arrived = await dispatcher_run(url, gateway, args.count, args.spread, args.lead)
    finally:
        await gateway.close()
        if folder is not None:
            db.stop_embedded(folder / "pg")
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.count} notices due within {args.spread:.0f} s\n")
    print("| lateness (after not_before) | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(line("baseline: bare aiohttp client, in-memory timer", percentiles(base)))
    print(line("dispatcher: arrival at the gateway", percentiles(arrived)))
    print(line("dispatcher: `sent_at` recorded", percentiles(sent)))
    plot_lateness(_common.plot_path(args.plot, "dispatch_lateness.png"), args, base, arrived, sent)


def plot_lateness(
    path: Path | None,
    args: argparse.Namespace,
    base: list[float],
    arrived: list[float],
    sent: list[float],
) -> None:
    """p50/p99/max of each series side by side, log scale, with the 1 s goal."""
    if path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {
        "baseline: in-memory timer": percentiles(base),
        "dispatcher: gateway arrival": percentiles(arrived),
        "dispatcher: sent_at": percentiles(sent),
    }
    fig, ax = plt.subplots(figsize=(7.5, 3.8), dpi=100)
    width = 0.26
    for k, stat in enumerate(("p50", "p99", "max")):
        values = [max(s[stat], 0.01) for s in series.values()]
        xs = [i + (k - 1) * width for i in range(len(series))]
        bars = ax.bar(xs, values, width, label=stat)
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], fontsize=7)
    ax.axhline(1000, color="#c0392b", linestyle="--", linewidth=1)
    ax.text(2.4, 1000, "goal: p99 < 1 s", color="#c0392b", va="bottom", ha="right", fontsize=8)
    ax.set_xticks(range(len(series)), list(series), fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("lateness after not_before (ms)")
    ax.set_title(f"{args.count:,} notices due within {args.spread:.0f} s", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    asyncio.run(main())
