"""The scheduler running by itself (no test-clock hooks): the tick and the in-process wake-up."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import AcceleratedClock
from hub.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.integration import events as ev

WARN_AT = datetime.fromisoformat("2026-03-03T09:00:00+08:00")


async def test_a_reminder_fires_on_time_under_a_running_clock(
    settings: Settings, database_url: str
) -> None:
    """With an accelerated clock the tick fires a due-soon reminder moments after its warn_at."""
    # 60 simulated seconds per real second, starting two simulated minutes before 09:00.
    clock = AcceleratedClock(datetime.fromisoformat("2026-03-03T08:58:00+08:00"), speed=60)
    client = TestClient(TestServer(create_app(settings, clock=clock, database_url=database_url)))
    await client.start_server()
    try:
        resp = await client.post(
            "/v1/events",
            json=ev.node_started("L-1", "n1", "2026-03-02T10:00:00+08:00", limit=2),
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert resp.status == 202
        conn = await asyncpg.connect(database_url)
        try:
            deadline = time.monotonic() + 30
            row = None
            while time.monotonic() < deadline and row is None:
                row = await conn.fetchrow(
                    "SELECT created_at, status FROM messages WHERE kind = 'node_due_soon'"
                    " AND channel = 'sms' AND status IN ('sent', 'delivered')"
                )
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
        assert row is not None, "the reminder never went out"
        lateness = (row["created_at"] - WARN_AT).total_seconds()
        # Never early; late by at most ten real seconds (a simulated minute each) even on
        # a loaded machine. Lateness itself is measured in bench/, not here.
        assert 0 <= lateness < 600
    finally:
        await client.close()
