"""Scale ingest by process: 1, 2 and 4 ``cuiban serve --role api`` processes on one port.

    python bench/multi_api.py              # --processes 1 2 4 --batches 20 --repeats 2

Each process listens on the same port with ``http.reuse_port = true``
(SO_REUSEPORT): the kernel spreads the client's connections over them, no load
balancer in between. The client posts the event ingest benchmark's batches
(250 cases × 4 events per batch of 1000) with two requests in flight per
process. The baseline is one process, in the same run. Case locks are taken in
sorted order, so processes never deadlock on shared cases; here every case is
new, so they only share PostgreSQL.

On a machine with N free cores, events/s should grow with processes until
PostgreSQL's CPU is the limit; on the 2-core development machine the processes
and PostgreSQL share two cores, so the figure shows the ceiling, not the slope.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import tempfile
from pathlib import Path

import _common
from _common import bar_plot, hub_config, hub_process, median, progress, spread
from event_ingest import bodies, post_all


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def one_count(config: Path, processes: int, args: argparse.Namespace, tag: str) -> float:
    port = free_port()
    os.environ["CUIBAN_HTTP__PORT"] = str(port)
    os.environ["CUIBAN_HTTP__REUSE_PORT"] = "true"
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(processes):
            await stack.enter_async_context(hub_process(config, "api"))
        payloads = bodies(tag, args.batches, args.batch_size)
        per_batch = args.batch_size // 4 * 4
        url = f"http://127.0.0.1:{port}/v1/events"
        return await post_all(url, payloads, per_batch, 2 * processes)


async def main(args: argparse.Namespace) -> dict[int, float]:
    rates: dict[int, list[float]] = {n: [] for n in args.processes}
    async with _common.scratch_database(args.database_url) as url:
        folder = Path(tempfile.mkdtemp(prefix="cuiban-multi-api-"))
        config = hub_config(folder, url)
        for r in range(args.repeats):
            for n in args.processes:
                await _common.fresh_schema(url)
                progress(f"round {r + 1}/{args.repeats}: {n} api process(es)")
                rates[n].append(await one_count(config, n, args, f"R{r}N{n}"))
    base = median(rates[args.processes[0]])
    cores = os.cpu_count()
    print(f"\nIngest by {', '.join(map(str, args.processes))} api processes on one port "
          f"(SO_REUSEPORT), {cores} cores, median of {args.repeats}\n")  # fmt: skip
    print("| api processes | events/s (median) | runs (min–max) | ratio to 1 process |")
    print("|---:|---:|---:|---:|")
    for n in args.processes:
        value = median(rates[n])
        print(f"| {n} | {value:,.0f} | {spread(rates[n])} | {value / base:.2f} |")
    bar_plot(
        _common.plot_path(args.plot, "multi_api.png"),
        f"Ingest by api processes on one port ({cores} cores)",
        [f"{n} process{'es' if n > 1 else ''}" for n in args.processes],
        [median(rates[n]) for n in args.processes],
        ylabel="events per second",
    )
    return {n: median(rates[n]) for n in args.processes}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batches", type=int, default=20, help="batches per round")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--database-url", default="", help="a scratch database (tables dropped)")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
