"""PostgreSQL stops and starts again under a running hub (``serve --role all``, a real process).

The hub is told only the server's URL; the test stops the cluster with
``pg_ctl stop -m fast`` in the middle of ingest and dispatch, checks what
clients see during the outage, starts it again and counts: every event the
hub accepted is stored once, every notice in the database went out through
the console provider (the hub's stdout), none twice beyond what was in flight.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.integration import events as ev
from tests.reliability.postgres import OwnPostgres
from tests.reliability.workers import (
    ADMIN_KEY,
    Worker,
    enqueue_due,
    statuses,
    wait_for,
    worker_config,
)

INGEST_KEY = "reliability-ingest-key-0001"
AT = "2026-03-02T09:00:00+08:00"
# Short leases: rows whose outcome could not be written during the outage come back in seconds.
FAST_LEASES = """
[dispatch]
lease_seconds = 3.0
heartbeat_seconds = 1.0
reap_seconds = 1.0

[policy]
quiet_hours = ""  # the system clock may read any hour; nothing waits for the morning
"""


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cuiban-outage-hub-") as name:
        yield Path(name)


def _case(i: int) -> dict[str, Any]:
    event = ev.accepted(f"PG-{i:05d}", AT)
    event["event_id"] = f"pg-outage-{i}"
    event["applicant"] = {"name": "张三", "mobile": f"137{i:08d}"}
    return event


async def _post(
    http: aiohttp.ClientSession, url: str, events: list[dict[str, Any]]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    async with http.post(
        f"{url}/v1/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {INGEST_KEY}"},
    ) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


async def _ready(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(f"{url}/readyz") as resp:
        return resp.status


async def _count(database_url: str, sql: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def _settled(database_url: str, within: float) -> Counter[str]:
    """Wait until no message is queued, sending or failed; return the status counts."""
    deadline = time.monotonic() + within
    while True:
        seen = await statuses(database_url)
        if not (seen["queued"] or seen["sending"] or seen["failed"]):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled after {within} s: {dict(seen)}")
        await asyncio.sleep(0.1)


async def test_postgres_restart_during_ingest_and_dispatch_loses_nothing(
    own_postgres: OwnPostgres, folder: Path
) -> None:
    """A PostgreSQL outage: /readyz says 503, posts get 503 + Retry-After, then 0 lost after it."""
    admin = await asyncpg.connect(own_postgres.url)
    try:
        await admin.execute('CREATE DATABASE "cuiban"')
    finally:
        await admin.close()
    database_url = own_postgres.database_url("cuiban")
    config = worker_config(folder, database_url, FAST_LEASES)
    text = config.read_text("utf-8").replace(
        f'api_keys = ["{ADMIN_KEY}"]',
        f'api_keys = ["{ADMIN_KEY}", {{key = "{INGEST_KEY}", role = "ingest"}}]',
    )
    config.write_text(text, "utf-8")
    hub = Worker(folder, config, "hub", role="all")
    bulk = 3000
    async with aiohttp.ClientSession() as http:
        try:
            await hub.ready()
            url = hub.url()
            assert await _ready(http, url) == 200
            # Before: 100 cases accepted, 3,000 notices due at once.
            status, body, _ = await _post(http, url, [_case(i) for i in range(100)])
            assert (status, body) == (202, {"accepted": 100, "duplicates": 0})
            await enqueue_due(database_url, bulk)
            await wait_for(database_url, "sent", 300, within=30)

            own_postgres.stop()  # mid-dispatch
            stopped = time.monotonic()
            in_flight_printed = len(hub.sent_ids())
            assert await _ready(http, url) == 503
            refused = [_case(i) for i in range(100, 150)]
            status, body, headers = await _post(http, url, refused)
            assert status == 503, body
            assert headers["Retry-After"] == "5"
            assert headers["Content-Type"].startswith("application/problem+json")
            assert "retry" in body["detail"]
            assert hub.process.poll() is None  # the hub rides the outage out
            await asyncio.sleep(2)  # the dispatcher and scheduler hit the outage too

            own_postgres.start()
            restarted = time.monotonic()
            while await _ready(http, url) != 200:
                assert time.monotonic() - restarted < 30, "the hub did not reconnect"
                await asyncio.sleep(0.1)
            reconnected = time.monotonic() - restarted
            # The client retries what was refused, and carries on.
            status, body, _ = await _post(http, url, refused)
            assert (status, body) == (202, {"accepted": 50, "duplicates": 0})
            status, body, _ = await _post(http, url, [_case(i) for i in range(150, 200)])
            assert (status, body) == (202, {"accepted": 50, "duplicates": 0})
            final = await _settled(database_url, within=60)
        finally:
            assert await hub.stop() == 0
    cases = await _count(database_url, "SELECT count(*) FROM cases")
    events = await _count(database_url, "SELECT count(*) FROM events")
    messages = await _count(database_url, "SELECT count(*) FROM messages WHERE channel = 'sms'")
    reaped = await _count(
        database_url, "SELECT count(*) FROM message_attempts WHERE outcome = 'lease_expired'"
    )
    assert (cases, events) == (200, 200)
    assert messages == bulk + 200  # the bulk, and one case_accepted SMS per case
    assert final == Counter({"sent": messages})
    printed = Counter(hub.sent_ids())
    conn = await asyncpg.connect(database_url)
    try:
        ids = {r["id"] for r in await conn.fetch("SELECT id FROM messages WHERE channel = 'sms'")}
    finally:
        await conn.close()
    assert set(printed) == ids  # 0 lost: every row went out through the provider
    duplicates = sum(n - 1 for n in printed.values())
    assert duplicates <= reaped  # only rows whose outcome the outage swallowed went twice
    print(
        f"outage: {in_flight_printed} printed at stop, {time.monotonic() - stopped:.1f} s total;"
        f" reconnected {reconnected:.2f} s after start; {messages} sent,"
        f" {reaped} leases reaped, {duplicates} duplicates"
    )
