"""Slow and oversized clients against a real ``cuiban serve`` (issue 13, item 2).

The probe: 300 connections each sending ~1 MB of a ``POST /wap/lookup`` body and
stalling took the hub from 137 to 509 MB (and it stayed there); 2,000 slow-header
connections were held for 40 s. Here, at a scale CI affords: 100 connections with
~1 MB bodies (announced, chunked, and to the API without a key), 600 connections
trickling their headers, and 100 more from one address — while a probe from another
address asks ``/readyz`` every 50 ms. The hub's RSS is read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.workers import Worker, worker_config

READ_TIMEOUT = 2.0
CAP = 32
MB = 1024 * 1024
COOKIE = "wap_csrf=aaaaaaaaaaaaaaaaaaaaaaaa"


# /readyz asked every 50 ms over one keep-alive connection, from its own process (the
# attack's 800 sockets keep this test's event loop too busy to time anything); one
# latency in ms per line, until stdin closes.
PROBE = """
import http.client, sys, threading, time
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
while not done.is_set():
    began = time.perf_counter()
    conn.request("GET", "/readyz")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    print(f"{(time.perf_counter() - began) * 1000:.2f}", flush=True)
    time.sleep(0.05)
"""


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cuiban-slow-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def _open(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    # Any 127.0.0.0/8 source address reaches the loopback listener: one "client" each.
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def _closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """Whether the hub closes the connection (an answer and EOF) within ``within`` s."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def _big_body(port: int, source: str, kind: int) -> tuple[bool, bytes]:
    """Send ~0.9 MB of a 1 MB body and stall; the status line the hub answered, if any."""
    reader, writer = await _open(port, source)
    try:
        if kind == 0:  # a WAP form announcing 1 MB
            head = (
                f"POST /wap/lookup HTTP/1.1\r\nHost: x\r\nCookie: {COOKIE}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {MB}\r\n\r\n"
            )
            chunks = [b"case_no=" + b"A" * (64 * 1024)] + [b"A" * (64 * 1024)] * 13
        elif kind == 1:  # the same form, chunked: no size announced
            head = (
                f"POST /wap/lookup HTTP/1.1\r\nHost: x\r\nCookie: {COOKIE}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"A" * (64 * 1024)
            chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 14
        else:  # the API without a key
            head = (
                "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {MB}\r\n\r\n"
            )
            chunks = [b"[" + b" " * (64 * 1024)] + [b" " * (64 * 1024)] * 13
        writer.write(head.encode())
        with contextlib.suppress(ConnectionError):
            for chunk in chunks:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), 1)
        with contextlib.suppress(TimeoutError, ConnectionError):
            status = await asyncio.wait_for(reader.readline(), READ_TIMEOUT + 12)
            closed = await _closed_by_server(reader, READ_TIMEOUT + 12)
            return closed, status
        return True, b""
    except (TimeoutError, ConnectionError):
        return True, b""
    finally:
        writer.close()


async def _slow_headers(port: int, source: str, seconds: float) -> bool:
    """Trickle a request's headers a byte every 0.3 s; whether the hub hung up in time."""
    try:
        reader, writer = await _open(port, source)
    except ConnectionError:
        return True
    try:
        writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            writer.write(b"X")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(reader.read(1), 0.3) == b"":
                    return True
        return False
    except ConnectionError:
        return True
    finally:
        writer.close()


async def test_slow_and_oversized_clients_cost_no_memory_and_do_not_slow_readiness(
    folder: Path, database_url: str
) -> None:
    """100 stalled ~1 MB bodies and 700 slow-header connections: RSS stays within 50 MB of
    its start, every attacker is answered or dropped within the deadline, and /readyz
    keeps answering in under 100 ms (9 probes in 10 at least; none over 3 s)."""
    config = worker_config(folder, database_url)
    text = config.read_text("utf-8").replace(
        "[http]\nport = 0\n",
        f"[http]\nport = 0\nread_timeout = {READ_TIMEOUT}\nmax_connections_per_client = {CAP}\n",
    )
    config.write_text(text, "utf-8")
    hub = Worker(folder, config, "api", role="api")
    try:
        await hub.ready()
        port = int(hub.url().rsplit(":", 1)[1])
        start_rss = rss(hub.process.pid)
        probe = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PROBE,
            str(port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert probe.stdout is not None and probe.stdin is not None
        await probe.stdout.readline()  # its first answer: connected and warm
        peak = start_rss
        stop = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss(hub.process.pid))
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        # 100 bodies from 4 addresses (25 each, under the cap); 600 slow headers from
        # 20 addresses (30 each); 100 more slow headers from one address (over the cap).
        bodies = [_big_body(port, f"127.0.1.{n % 4 + 1}", n % 3) for n in range(100)]
        slow = [_slow_headers(port, f"127.0.2.{n % 20 + 1}", READ_TIMEOUT + 6) for n in range(600)]
        crowd = [_slow_headers(port, "127.0.3.1", READ_TIMEOUT + 6) for _ in range(100)]
        results = await asyncio.gather(*bodies, *slow, *crowd)
        await asyncio.sleep(0.5)
        after_rss = rss(hub.process.pid)
        stop.set()
        await watcher
        probe.stdin.close()
        out, _ = await probe.communicate()
        assert probe.returncode == 0
        latencies = [float(line) / 1000 for line in out.decode().split()]

        body_results = results[:100]
        hung_up = results[100:]
        statuses = sorted({status.split(b" ")[1] for _, status in body_results if status})
        print(
            f"RSS start {start_rss / MB:.1f} MB, peak {peak / MB:.1f} MB, after "
            f"{after_rss / MB:.1f} MB; readyz n={len(latencies)} median "
            f"{statistics.median(latencies) * 1000:.1f} ms max {max(latencies) * 1000:.1f} ms; "
            f"body answers {statuses}; slow-header connections dropped "
            f"{sum(hung_up)}/{len(hung_up)}"
        )
        assert all(closed for closed, _ in body_results)
        assert set(statuses) <= {b"401", b"413"}, statuses
        assert all(hung_up), f"{len(hung_up) - sum(hung_up)} slow-header connections held"
        assert peak - start_rss < 50 * MB
        assert after_rss - start_rss < 50 * MB
        # Readiness: answered every time, and in under 100 ms but for the odd probe that
        # meets the burst of 800 connects on a shared 2-core machine (CPU, not memory or
        # sockets: the hub has neither to spare for a slow client any more).
        slow_probes = [round(v * 1000) for v in latencies if v >= 0.1]
        assert len(latencies) > 20
        assert len(slow_probes) <= len(latencies) // 10, slow_probes
        assert max(latencies) < 3.0, slow_probes
    finally:
        assert await hub.stop() == 0
