"""Broadcast memory: the hub process's RSS while the audience grows from 1k to 100k.

    python bench/broadcast_memory.py                          # sizes 1000 10000 50000 100000
    python bench/broadcast_memory.py --sizes 1000 10000       # smaller machine

A real ``cuiban serve`` process (manual clock, so nothing is sent in the background)
on an embedded PostgreSQL. For each size the cases table is topped up with open
cases (one applicant mobile each), then ``POST /v1/broadcasts`` expands the whole
audience into outbox rows; the hub's VmRSS is sampled every 5 ms from /proc while
the request runs. Expansion happens in the database, a keyset page per
transaction, so the peak should not follow the audience.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

from hub.store import db

KEY = "bench-admin-key-0001"
START = "2026-03-02T09:00:00+08:00"


def progress(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(match[1]) / 1024 if match else 0.0


class Sampler:
    """The largest VmRSS seen in a background thread while the ``with`` block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


async def top_up(url: str, have: int, want: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """
            INSERT INTO cases (case_no, status, matter_code, department_code, applicant,
                               created_at, updated_at)
            SELECT 'B-' || i, 'accepted', 'SC-101', 'SCJG',
                   jsonb_build_object('name', '申请人', 'mobile', (13000000000 + i)::text),
                   now(), now()
              FROM generate_series($1::int + 1, $2::int) AS i
            """,
            have,
            want,
        )
        await conn.execute("ANALYZE cases")
    finally:
        await conn.close()


async def run(sizes: list[int], workdir: Path) -> None:
    progress("starting PostgreSQL")
    server = db.embedded_url(workdir / "pg")
    admin = await asyncpg.connect(server)
    await admin.execute("CREATE DATABASE cuiban_bench")
    await admin.close()
    url = urlunsplit(urlsplit(server)._replace(path="/cuiban_bench"))
    config = workdir / "cuiban.toml"
    config.write_text(
        f"""
[database]
url = "{url}"
data_dir = "{workdir / "data"}"

[http]
port = 0

[auth]
api_keys = ["{KEY}"]

[clock]
mode = "manual"
start = "{START}"

[logging]
level = "warning"
""",
        "utf-8",
    )
    cuiban = Path(sys.executable).with_name("cuiban")
    # Started before the event loop has work: a blocking start is fine here.
    proc = subprocess.Popen(  # noqa: S603, ASYNC220 -- our own CLI, fixed arguments
        [str(cuiban), "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://\S+?:(\d+)/", line)
        if not match:
            raise SystemExit(f"the hub did not start: {line!r}")
        base = f"http://127.0.0.1:{match[1]}"
        headers = {"Authorization": f"Bearer {KEY}"}
        print(
            f"command: cuiban serve (pid {proc.pid}); after start-up RSS {rss_mb(proc.pid):.0f} MB"
        )
        print()
        print(
            "| audience | rows queued | expansion (s) | rows/s "
            "| peak RSS during POST (MB) | RSS after (MB) |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        have = 0
        async with aiohttp.ClientSession(headers=headers) as http:
            for n, size in enumerate(sizes):
                await top_up(url, have, size)
                have = size
                body = {
                    "key": f"bench-{n}",
                    "title": "系统维护",
                    "content": "3月15日晚网上大厅暂停服务",
                    "audience": {"applicants": {}},
                    "channels": ["sms"],
                }
                progress(f"broadcast to {size:,}")
                with Sampler(proc.pid) as sampler:
                    began = time.perf_counter()
                    async with http.post(f"{base}/v1/broadcasts", json=body) as resp:
                        view = await resp.json()
                        assert resp.status == 201, view
                    took = time.perf_counter() - began
                queued = view["counts"]["queued"]
                # Cancel it so the next size starts on an empty queue (one UPDATE).
                async with http.post(f"{base}/v1/broadcasts/{view['id']}/cancel", json={}) as resp:
                    assert resp.status == 200
                print(
                    f"| {size:,} | {queued:,} | {took:.2f} | {queued / took:,.0f} | "
                    f"{sampler.peak:.0f} | {rss_mb(proc.pid):.0f} |",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        db.stop_embedded(workdir / "pg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000, 100_000])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cuiban-bench-broadcast-"))
    try:
        asyncio.run(run(sorted(args.sizes), workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
