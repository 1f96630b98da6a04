"""The dispatcher's background loop under the system clock: wake-up, heartbeat, graceful stop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from channels.base import Receipt
from core.notices import ChannelKind, OutboundMessage
from hub.clock import SystemClock
from hub.delivery.dispatcher import Dispatcher
from hub.delivery.registry import ChannelRegistry
from hub.settings import DispatchSettings
from hub.store import db
from tests.integration.dispatch_helpers import MOBILE, TEST_VAULT, notice, put

SMS = ChannelKind.SMS


class SlowChannel:
    """Takes ``delay`` seconds per send; records what it took."""

    kind = None

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage) -> Receipt:
        await asyncio.sleep(self.delay)
        self.sent.append(message.id)
        return Receipt(provider_message_id=f"slow-{message.id}", accepted_at=datetime.now(UTC))

    async def aclose(self) -> None:
        return None


async def _log(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT m.id, m.status, m.attempts, m.lease_owner,"
            " array(SELECT outcome FROM message_attempts a WHERE a.message_id = m.id"
            "       ORDER BY attempt) AS outcomes"
            " FROM messages m ORDER BY id"
        )


async def test_heartbeat_keeps_a_slow_send_leased_and_a_notify_wakes_the_loop(
    database_url: str,
) -> None:
    """A send slower than the lease is not reaped while heartbeats extend it; NOTIFY wakes work."""
    pool = await db.create_pool(database_url)
    slow = SlowChannel(1.2)
    clock = SystemClock()
    registry = ChannelRegistry(adapters={SMS: slow}, providers={SMS: "slow"})
    settings = DispatchSettings(lease_seconds=0.5, heartbeat_seconds=0.15, poll_seconds=30)
    worker = Dispatcher(
        pool=pool, clock=clock, channels=registry, settings=settings, vault=TEST_VAULT
    )
    reaper = Dispatcher(
        pool=pool, clock=clock, channels=registry, settings=settings, vault=TEST_VAULT
    )
    try:
        await worker.start()
        await asyncio.sleep(0.2)  # the loop is idle now, waiting up to 30 s
        now = clock.now()
        await put(pool, [notice("a", (SMS, MOBILE), not_before=now)], now=now)
        for _ in range(16):  # another worker reaping all the while
            await asyncio.sleep(0.1)
            assert await reaper.reap(clock.now()) == 0
        for _ in range(50):
            if slow.sent:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        await pool.close()
    assert len(slow.sent) == 1  # woken by NOTIFY long before the 30 s poll


async def test_graceful_stop_lets_a_send_finish_and_returns_the_rest(database_url: str) -> None:
    """On stop a send in progress completes; rows still waiting for a slot go back to the queue."""
    pool = await db.create_pool(database_url)
    slow = SlowChannel(0.5)
    clock = SystemClock()
    registry = ChannelRegistry(adapters={SMS: slow}, providers={SMS: "slow"})
    settings = DispatchSettings(concurrency={"sms": 1}, stop_timeout_seconds=5)
    worker = Dispatcher(
        pool=pool, clock=clock, channels=registry, settings=settings, vault=TEST_VAULT
    )
    try:
        now = clock.now()
        await put(pool, [notice(f"n{i}", (SMS, MOBILE), not_before=now) for i in range(3)], now=now)
        await worker.start()
        await asyncio.sleep(0.25)  # the first send is in progress, two wait for the slot
        await worker.stop()
        rows = await _log(pool)
    finally:
        await pool.close()
    assert slow.sent == ["1"]
    assert [(r["status"], r["attempts"], r["lease_owner"]) for r in rows] == [
        ("sent", 1, None),
        ("queued", 0, None),
        ("queued", 0, None),
    ]
    assert [list(r["outcomes"]) for r in rows] == [["sent"], [], []]


async def test_a_lane_sends_on_while_outcomes_wait_and_stop_writes_them_first(
    database_url: str,
) -> None:
    """A lane does not wait for the database to store a sent row's outcome; stop waits for
    every such outcome to be stored before it hands anything back, so none is sent twice."""
    pool = await db.create_pool(database_url)
    fast = SlowChannel(0.01)
    clock = SystemClock()
    registry = ChannelRegistry(adapters={SMS: fast}, providers={SMS: "fast"})
    settings = DispatchSettings(concurrency={"sms": 1}, stop_timeout_seconds=5)
    worker = Dispatcher(
        pool=pool, clock=clock, channels=registry, settings=settings, vault=TEST_VAULT
    )
    blocker = await asyncpg.connect(database_url)
    try:
        now = clock.now()
        await put(pool, [notice(f"w{i}", (SMS, MOBILE), not_before=now) for i in range(3)], now=now)
        holding = blocker.transaction()
        await holding.start()
        # Outcomes cannot be written (each adds a message_attempts row) until this ends.
        await blocker.execute("LOCK TABLE message_attempts IN EXCLUSIVE MODE")
        await worker.start()
        for _ in range(100):
            if len(fast.sent) == 3:
                break
            await asyncio.sleep(0.05)
        assert fast.sent == ["1", "2", "3"]  # one lane, three sends, no outcome stored yet
        assert {r["status"] for r in await _log(pool)} == {"sending"}
        stopping = asyncio.create_task(worker.stop())
        await asyncio.sleep(0.3)
        assert not stopping.done()  # waiting for the outcomes, not handing the rows back
        await holding.commit()
        await stopping
        rows = await _log(pool)
    finally:
        await blocker.close()  # ends the lock if an assertion left it held
        await worker.stop()
        await pool.close()
    assert [(r["status"], r["attempts"], r["lease_owner"]) for r in rows] == [("sent", 1, None)] * 3
    assert [list(r["outcomes"]) for r in rows] == [["sent"]] * 3
    assert fast.sent == ["1", "2", "3"]
