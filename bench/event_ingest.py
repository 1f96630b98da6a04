"""Event ingest: batches of 1000 events through ``POST /v1/events`` on a running hub.

    python bench/event_ingest.py           # --batches 20 --batch-size 1000 --repeats 3

A real ``cuiban serve --role api`` process (its own core) takes the batches
from a client in this process (``--in-flight`` requests at a time, bodies
serialised beforehand). Each case arrives in one batch as four events —
``case.accepted``, ``node.started`` n1, ``node.completed`` n1, ``node.started`` n2 —
so every batch re-projects 250 cases, plans their reminder timers and writes
the applicant's acceptance SMS into the outbox, all in one transaction. With
``--split`` a case's last two events come two batches after its first two, so
half of every batch continues a case already stored (its stored fold, sealed
applicant and nodes read back) — the path of a centre's day-to-day traffic.

The baseline, measured in the same run against the same database, is a bare
aiohttp server in its own process that parses the same JSON bodies and stores
them in one ``INSERT … SELECT unnest(…)`` per batch: HTTP, JSON and a database
write, with no validation, projection or planning. Goal ≥ 20,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _common
import aiohttp
import asyncpg
from _common import (
    API_KEY,
    Ticker,
    bar_plot,
    cpu_seconds,
    hub_config,
    hub_process,
    median,
    profiled,
    progress,
    spread,
)

TZ = ZoneInfo("Asia/Shanghai")


def case_events(case_no: str, at: datetime) -> list[dict[str, Any]]:
    stamp = [(at + timedelta(minutes=m)).isoformat() for m in range(4)]
    node = {"department": "SCJG", "name": "审查"}
    return [
        {
            "event_id": f"{case_no}-a",
            "type": "case.accepted",
            "occurred_at": stamp[0],
            "case_no": case_no,
            "matter": {"code": "SC-101", "name": "食品经营许可"},
            "department": {"code": "SCJG", "name": "市场监督管理局"},
            # One applicant per case, as in a centre: nothing sealed or indexed is shared.
            "applicant": {
                "name": "张三丰",
                "mobile": f"138{zlib.crc32(case_no.encode()):08d}"[:11],
            },
            "limit": {"value": 20, "unit": "working_days"},
        },
        {
            "event_id": f"{case_no}-s1",
            "type": "node.started",
            "occurred_at": stamp[1],
            "case_no": case_no,
            "node_id": "n1",
            "assignee": {"id": "p-li", "name": "李四", "mobile": "13900001111"},
            "limit": {"value": 3, "unit": "working_days"},
            **node,
        },
        {
            "event_id": f"{case_no}-c1",
            "type": "node.completed",
            "occurred_at": stamp[2],
            "case_no": case_no,
            "node_id": "n1",
            "outcome": "pass",
        },
        {
            "event_id": f"{case_no}-s2",
            "type": "node.started",
            "occurred_at": stamp[3],
            "case_no": case_no,
            "node_id": "n2",
            "assignee": {"id": "p-wang", "name": "王五", "mobile": "13900002222"},
            "limit": {"value": 5, "unit": "working_days"},
            **node,
        },
    ]


def bodies(tag: str, batches: int, size: int) -> list[bytes]:
    at = datetime.now(TZ).replace(microsecond=0) - timedelta(hours=1)
    out = []
    for b in range(batches):
        events: list[dict[str, Any]] = []
        for c in range(size // 4):
            events.extend(case_events(f"{tag}-{b:04d}-{c:04d}", at))
        out.append(json.dumps({"events": events}, ensure_ascii=False).encode())
    return out


#: With ``--split``, a case's second half comes this many batches after its first.
SPLIT_LAG = 2


def split_bodies(tag: str, batches: int, size: int) -> tuple[list[bytes], list[bytes]]:
    """Warm-up bodies, then batches in which every case is one already stored.

    Batch ``b`` holds the first two events of group ``b + SPLIT_LAG`` and the last two
    of group ``b`` (whose first two went ``SPLIT_LAG`` batches earlier, or in the
    warm-up): half of each batch continues a case's stored fold.
    """
    at = datetime.now(TZ).replace(microsecond=0) - timedelta(hours=1)
    groups = [
        [case_events(f"{tag}-{g:04d}-{c:04d}", at) for c in range(size // 4)]
        for g in range(batches + SPLIT_LAG)
    ]

    def body(events: list[dict[str, Any]]) -> bytes:
        return json.dumps({"events": events}, ensure_ascii=False).encode()

    warm_up = [body([e for case in groups[g] for e in case[:2]]) for g in range(SPLIT_LAG)]
    timed = [
        body(
            [e for case in groups[b + SPLIT_LAG] for e in case[:2]]
            + [e for case in groups[b] for e in case[2:]]
        )
        for b in range(batches)
    ]
    return warm_up, timed


async def post_all(url: str, payloads: list[bytes], per_batch: int, in_flight: int) -> float:
    """POST every payload, ``in_flight`` at a time; return events per second."""
    ticker = Ticker(url.rsplit("/", 1)[-1] or "post", len(payloads) * per_batch)
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    done = 0
    queue = iter(payloads)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:

        async def poster() -> None:
            nonlocal done
            for body in queue:
                async with session.post(url, data=body, headers=headers) as response:
                    answer = await response.json(content_type=None)
                    assert response.status == 202, answer
                    assert answer["accepted"] == per_batch, answer
                done += per_batch
                ticker.update(done)

        started = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(in_flight)))
        return done / (time.perf_counter() - started)


# --- the baseline server (run as: event_ingest.py --baseline-server URL) ----------------


async def baseline_server(database_url: str) -> None:
    from aiohttp import web

    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=4)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_events"
            " (event_id text PRIMARY KEY, case_no text, body jsonb)"
        )

    async def handle(request: web.Request) -> web.Response:
        events = (await request.json())["events"]
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO bench_raw_events SELECT * FROM unnest($1::text[], $2::text[],"
                " $3::jsonb[])",
                [e["event_id"] for e in events],
                [e["case_no"] for e in events],
                [json.dumps(e, ensure_ascii=False) for e in events],
            )
        return web.json_response({"accepted": len(events), "duplicates": 0}, status=202)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/events", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print("Cuiban (baseline) is serving on", f"http://127.0.0.1:{runner.addresses[0][1]}/")
    sys.stdout.flush()
    await asyncio.Event().wait()


async def baseline_process(database_url: str) -> Any:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--baseline-server",
        database_url,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    return line.split("serving on ", 1)[1].split()[0].rstrip("/"), process


async def timed(
    pid: int, url: str, payloads: list[bytes], per_batch: int, in_flight: int
) -> tuple[float, float]:
    """Events per wall second, and per CPU-second of the serving process ``pid``."""
    before = cpu_seconds(pid)
    rate = await post_all(url, payloads, per_batch, in_flight)
    used = cpu_seconds(pid) - before
    return rate, len(payloads) * per_batch / used if used else float("inf")


async def _prepared(url: str, tag: str, args: argparse.Namespace) -> list[bytes]:
    """The timed bodies; with ``--split`` their cases' first halves are posted first, untimed."""
    if not args.split:
        return bodies(tag, args.batches, args.batch_size)
    warm_up, payloads = split_bodies(tag, args.batches, args.batch_size)
    await post_all(url + "/v1/events", warm_up, args.batch_size // 4 * 2, 1)
    return payloads


async def main(args: argparse.Namespace) -> dict[str, float]:
    ours, base, ours_cpu, base_cpu = [], [], [], []
    per_batch = args.batch_size // 4 * 4
    async with _common.scratch_database(args.database_url) as url:
        await _common.fresh_schema(url)
        folder = Path(tempfile.mkdtemp(prefix="cuiban-ingest-"))
        config = hub_config(folder, url)
        base_url, base_proc = await baseline_process(url)
        try:
            async with hub_process(config, "api", uvloop=args.uvloop) as (hub_url, hub):
                progress(f"hub pid {hub.pid} at {hub_url}")
                for r in range(args.repeats):
                    progress(f"round {r + 1}/{args.repeats}")
                    payloads = await _prepared(base_url, f"B{r}", args)
                    rate, per_cpu = await timed(
                        base_proc.pid, base_url + "/v1/events", payloads, per_batch, args.in_flight
                    )
                    base.append(rate)
                    base_cpu.append(per_cpu)
                    payloads = await _prepared(hub_url, f"C{r}", args)
                    async with profiled(hub.pid, args.profile if r == 0 else ""):
                        rate, per_cpu = await timed(
                            hub.pid, hub_url + "/v1/events", payloads, per_batch, args.in_flight
                        )
                    ours.append(rate)
                    ours_cpu.append(per_cpu)
        finally:
            base_proc.terminate()
            await base_proc.wait()
    limit, cuiban = median(base), median(ours)
    limit_cpu, cuiban_cpu = median(base_cpu), median(ours_cpu)
    events = args.batches * per_batch
    print(
        f"\nEvent ingest, {events:,} events in batches of {per_batch}, median of {args.repeats}\n"
    )
    print(
        "| ingest path | events/s (median) | runs (min–max) | ratio to baseline "
        "| events per CPU-second of the server process | ratio | goal |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    print(
        f"| baseline: bare aiohttp + one INSERT … unnest | {limit:,.0f} | {spread(base)} | 1.00 "
        f"| {limit_cpu:,.0f} | 1.00 | |"
    )
    print(
        f"| **Cuiban** `POST /v1/events` (validate, project, plan, outbox) | {cuiban:,.0f} "
        f"| {spread(ours)} | **{cuiban / limit:.2f}** | {cuiban_cpu:,.0f} "
        f"| **{cuiban_cpu / limit_cpu:.2f}** | ≥ 20,000 events/s |"
    )
    bar_plot(
        _common.plot_path(args.plot, "event_ingest.png"),
        f"Event ingest, batches of {per_batch} ({events:,} events)",
        ["baseline\n(store raw JSON)", "Cuiban\nPOST /v1/events"],
        [limit, cuiban],
        ylabel="events per second",
        goal=20_000,
        goal_label="goal: 20k/s",
    )
    return {"baseline": limit, "cuiban": cuiban, "cuiban_per_cpu_second": cuiban_cpu}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="batches per round")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=2, help="requests at a time")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true", help="run the hub on uvloop")
    parser.add_argument(
        "--split",
        action="store_true",
        help="each case's last two events two batches later (half of each batch continues one)",
    )
    parser.add_argument("--database-url", default="", help="a scratch database (tables dropped)")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    parser.add_argument("--profile", default="", help="py-spy the hub's first round to this file")
    parser.add_argument("--baseline-server", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.baseline_server:
        asyncio.run(baseline_server(arguments.baseline_server))
    else:
        asyncio.run(main(arguments))
