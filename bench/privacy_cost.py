"""What encrypting personal data costs: ingest and send with the vault on and off, one run.

    python bench/privacy_cost.py    # --batches 10 --batch-size 1000 --count 5000 --repeats 3

**Ingest**: two ``cuiban serve --role api`` processes on one database, one with the
real vault (SM4-GCM seals, HMAC-SM3 indexes) and one with the bench's plain vault
(bench/_plain_vault.py: values stored as they are, an index is the clear text), take
the same batches as bench/event_ingest.py — rounds alternate between them, each with
new case numbers. **Send**: bench/send_throughput.py's in-process dispatcher sends
``--count`` due SMS to the fake Aliyun, with the real vault and with the plain one
installed, alternating (which goes first alternates too). The figure is encrypted /
plain for events/s and sends/s, and — steadier on a shared machine — events per
CPU-second of the hub process and sends per CPU-second of the sending process. Goal:
the encrypted path costs ≤ 10% (ratio ≥ 0.90). The plain vault exists only here:
Cuiban has no "off".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

import _common
import event_ingest
import send_throughput
from _common import bar_plot, fake_server, hub_config, hub_process, median, progress, spread
from _plain_vault import plain

from hub.logging import configure_logging


async def ingest(args: argparse.Namespace, url: str) -> dict[str, list[float]]:
    per_batch = args.batch_size // 4 * 4
    runs: dict[str, list[float]] = {"on": [], "off": [], "on_cpu": [], "off_cpu": []}
    folder = Path(tempfile.mkdtemp(prefix="cuiban-privacy-"))
    (folder / "on").mkdir()
    (folder / "off").mkdir()
    on_config = hub_config(folder / "on", url)
    off_config = hub_config(folder / "off", url)
    async with (
        hub_process(on_config, "api") as (on_url, on_hub),
        hub_process(off_config, "api", plain_vault=True) as (off_url, off_hub),
    ):
        for r in range(args.repeats):
            progress(f"ingest round {r + 1}/{args.repeats}")
            order = (("off", off_url, off_hub), ("on", on_url, on_hub))
            for name, base, hub in order if r % 2 == 0 else order[::-1]:
                payloads = event_ingest.bodies(f"{name}{r}", args.batches, args.batch_size)
                rate, per_cpu = await event_ingest.timed(
                    hub.pid, base + "/v1/events", payloads, per_batch, args.in_flight
                )
                runs[name].append(rate)
                runs[f"{name}_cpu"].append(per_cpu)
    return runs


async def send(args: argparse.Namespace, url: str) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {"on": [], "off": [], "on_cpu": [], "off_cpu": []}
    async with fake_server() as base:
        for r in range(args.repeats):
            progress(f"send round {r + 1}/{args.repeats}")
            # Which goes first alternates: a warmer database or cache favours neither.
            for name in ("off", "on") if r % 2 == 0 else ("on", "off"):
                with plain() if name == "off" else contextlib.nullcontext():
                    cpu = time.process_time()
                    rate, _, _, _ = await send_throughput.run_cuiban(
                        url, base, args.count, args.concurrency, args.batch, f"{name}{r}"
                    )
                    # The dispatcher runs in this process: its CPU is what sealing costs.
                    used = time.process_time() - cpu
                runs[name].append(rate)
                runs[f"{name}_cpu"].append(args.count / used if used else float("inf"))
    return runs


def _row(label: str, off: list[float], on: list[float]) -> str:
    return (
        f"| {label} | {median(off):,.0f} ({spread(off)}) | {median(on):,.0f} ({spread(on)}) "
        f"| **{median(on) / median(off):.2f}** | ≥ 0.90 |"
    )


async def main(args: argparse.Namespace) -> dict[str, float]:
    configure_logging("warning")
    async with _common.scratch_database(args.database_url) as url:
        await _common.fresh_schema(url)
        ingested = await ingest(args, url)
        sent = await send(args, url)
    events = args.batches * (args.batch_size // 4 * 4)
    print(
        f"\nPersonal data encrypted (SM4-GCM, HMAC-SM3) or stored plain, median of "
        f"{args.repeats}: ingest {events:,} events a round, send {args.count:,} SMS a round\n"
    )
    print("| path | plain (runs) | encrypted (runs) | encrypted / plain | goal |")
    print("|---|---:|---:|---:|---|")
    print(_row("ingest `POST /v1/events`, events/s", ingested["off"], ingested["on"]))
    print(
        _row(
            "ingest, events per CPU-second of the hub process",
            ingested["off_cpu"],
            ingested["on_cpu"],
        )
    )
    print(_row("send outbox → Aliyun adapter → `sent`, sends/s", sent["off"], sent["on"]))
    print(
        _row(
            "send, sends per CPU-second of the sending process (enqueue included)",
            sent["off_cpu"],
            sent["on_cpu"],
        )
    )
    ratios = {
        "ingest": median(ingested["on"]) / median(ingested["off"]),
        "ingest_cpu": median(ingested["on_cpu"]) / median(ingested["off_cpu"]),
        "send": median(sent["on"]) / median(sent["off"]),
        "send_cpu": median(sent["on_cpu"]) / median(sent["off_cpu"]),
    }
    bar_plot(
        _common.plot_path(args.plot, "privacy_cost.png"),
        "Encrypted / plain personal data (1.0 = no cost)",
        ["ingest\nevents/s", "ingest\nper CPU-second", "send\nsends/s", "send\nper CPU-second"],
        list(ratios.values()),
        ylabel="encrypted / plain",
        goal=0.9,
        goal_label="goal: ≥ 0.90",
    )
    return ratios


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="ingest batches per round")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=2, help="ingest requests at a time")
    parser.add_argument("--count", type=int, default=5_000, help="SMS sent per round")
    parser.add_argument("--concurrency", type=int, default=64, help="sends in flight")
    parser.add_argument("--batch", type=int, default=500, help="[dispatch] batch_size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default="", help="a scratch database (tables dropped)")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
