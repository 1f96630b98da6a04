"""Process-level guarantees: real worker subprocesses over one PostgreSQL database.

Workers use the system clock and the console SMS provider: every line a worker
prints is one message handed to "the provider", so counting ids across the
workers' outputs finds duplicates and losses.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.reliability.workers import Worker, enqueue_due, statuses, wait_for, worker_config


@pytest.fixture
def folder() -> Iterator[Path]:
    # Not tmp_path: pytest keeps those; worker output of 10k messages is a few MB.
    with tempfile.TemporaryDirectory(prefix="cuiban-workers-") as name:
        yield Path(name)


async def test_two_workers_send_each_of_10000_notices_exactly_once(
    folder: Path, database_url: str
) -> None:
    """Two worker processes sharing one database send each of 10,000 due notices exactly once."""
    config = worker_config(folder, database_url)
    workers = [Worker(folder, config, "a"), Worker(folder, config, "b")]
    try:
        await asyncio.gather(*(w.ready() for w in workers))
        started = time.monotonic()
        await enqueue_due(database_url, 10_000)
        seen = await wait_for(database_url, "sent", 10_000, within=60)
        elapsed = time.monotonic() - started
    finally:
        codes = [await w.stop() for w in workers]
    assert codes == [0, 0]
    assert seen == Counter({"sent": 10_000})
    per_worker = [w.sent_ids() for w in workers]
    printed = Counter(i for ids in per_worker for i in ids)
    assert len(printed) == 10_000
    assert sum(printed.values()) == 10_000  # no duplicates
    assert all(len(ids) > 0 for ids in per_worker), [len(ids) for ids in per_worker]
    print(f"10,000 sent by two workers {[len(i) for i in per_worker]} in {elapsed:.2f} s")


async def _sending_rows(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM messages WHERE status = 'sending'"))
    finally:
        await conn.close()


async def _expire_leases(database_url: str) -> None:
    # Stands for waiting out the 30 s lease the killed worker held.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE messages SET lease_expires_at = now() - interval '1 second'"
            " WHERE status = 'sending'"
        )
    finally:
        await conn.close()


async def test_sigkill_mid_dispatch_loses_nothing(folder: Path, database_url: str) -> None:
    """A worker killed with SIGKILL mid-dispatch loses no notice; resends ≤ what was in flight."""
    total = 4000
    config = worker_config(folder, database_url)
    first = Worker(folder, config, "first")
    await first.ready()
    await enqueue_due(database_url, total)
    await wait_for(database_url, "sent", 300, within=30)
    first.kill()
    in_flight = await _sending_rows(database_url)
    before = await statuses(database_url)
    assert before["sent"] < total, "the worker finished before it was killed"
    await _expire_leases(database_url)
    second = Worker(folder, config, "second")
    try:
        await second.ready()
        after = await wait_for(database_url, "sent", total, within=60)
    finally:
        assert await second.stop() == 0
    assert after == Counter({"sent": total})  # 0 lost
    printed = Counter(first.sent_ids() + second.sent_ids())
    assert set(printed) == set(range(1, total + 1))
    duplicates = sum(n - 1 for n in printed.values())
    assert duplicates <= in_flight
    conn = await asyncpg.connect(database_url)
    try:
        reaped = await conn.fetchval(
            "SELECT count(*) FROM message_attempts WHERE outcome = 'lease_expired'"
        )
    finally:
        await conn.close()
    assert reaped == in_flight
    print(
        f"killed with {before['sent']} sent and {in_flight} in flight;"
        f" duplicates after restart: {duplicates}"
    )


async def test_sigterm_returns_claimed_rows_and_a_restart_finishes(
    folder: Path, database_url: str
) -> None:
    """SIGTERM mid-dispatch: the worker exits 0 holding nothing; a restart sends the rest once."""
    total = 4000
    config = worker_config(folder, database_url)
    first = Worker(folder, config, "first")
    await first.ready()
    await enqueue_due(database_url, total)
    await wait_for(database_url, "sent", 300, within=30)
    assert await first.stop() == 0
    assert await _sending_rows(database_url) == 0  # nothing left leased
    second = Worker(folder, config, "second")
    try:
        await second.ready()
        after = await wait_for(database_url, "sent", total, within=60)
    finally:
        assert await second.stop() == 0
    assert after == Counter({"sent": total})
    printed = Counter(first.sent_ids() + second.sent_ids())
    assert len(printed) == total
    assert sum(printed.values()) == total
