"""The database cannot store any more: a clear 503, and nothing half-written.

An embedded cluster cannot honestly be given a tiny disk (no tablespace quota,
no mount from a test), so the fault is raised where PostgreSQL raises it: a
trigger makes inserts fail with SQLSTATE 53100 ``disk_full``, the error a full
disk gives (``could not extend file``). What is tested is ours: the answer the
client gets and that each transaction leaves all or nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from core.notices import ChannelKind
from hub.clock import ManualClock
from hub.notices.outbox import enqueue
from hub.privacy.vault import Vault
from tests.conftest import START, Api
from tests.integration import events as ev
from tests.integration.dispatch_helpers import MOBILE, notice

TABLES = ("events", "cases", "nodes", "timers", "messages", "message_attempts", "audit_log")
AT = START.isoformat()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def _fill_up(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(
        """
        CREATE OR REPLACE FUNCTION cuiban_test_disk_full() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'could not extend file "base/16384/16385": No space left on device'
                USING ERRCODE = 'disk_full';
        END $$ LANGUAGE plpgsql
        """
    )
    await conn.execute(
        f"CREATE TRIGGER disk_full BEFORE INSERT ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION cuiban_test_disk_full()"
    )


async def _free_up(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(f"DROP TRIGGER disk_full ON {table}")


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}  # noqa: S608 -- fixed names


async def test_a_full_database_refuses_events_with_503_and_stores_nothing_of_them(
    api: Api, conn: asyncpg.Connection
) -> None:
    """Ingest on a full disk: 503 with Retry-After, no event, case or timer half-stored."""
    first = ev.accepted("F-1", AT)
    assert (await api.post("/v1/events", first))[0] == 202
    before = await _counts(conn)
    batch = [ev.accepted("F-2", AT), ev.node_started("F-2", "n1", AT), ev.accepted("F-3", AT)]
    await _fill_up(conn, "messages")  # the outbox insert, the last write of the transaction
    resp = await api.client.post(
        "/v1/events", json={"events": batch}, headers={"Authorization": "Bearer admin-key-0001"}
    )
    body = await resp.json(content_type=None)
    assert resp.status == 503, body
    assert resp.headers["Retry-After"]
    assert resp.content_type == "application/problem+json"
    assert "space" in body["detail"]
    assert await _counts(conn) == before  # all or nothing: nothing
    await _free_up(conn, "messages")
    status, body = await api.post("/v1/events", {"events": batch})
    assert (status, body) == (202, {"accepted": 3, "duplicates": 0})
    status, case = await api.get("/v1/cases/F-2")
    assert status == 200 and [n["node_id"] for n in case["nodes"]] == ["n1"]


async def test_a_full_database_while_sending_loses_no_notice(
    api: Api, conn: asyncpg.Connection, clock: ManualClock, vault: Vault
) -> None:
    """When the outcome of a send cannot be written, the row stays leased, then is sent again."""
    now = clock.now()
    async with conn.transaction():
        await enqueue(
            conn,
            [notice("full", (ChannelKind.SMS, MOBILE), not_before=now)],
            now=now,
            max_attempts=8,
            vault=vault,
        )
    await _fill_up(conn, "message_attempts")
    status, body = await api.post("/v1/test-clock/advance", {"by": "PT1S"})
    # The advance answers 200 and reports the dispatcher's failure (the contract's test
    # clock: work that fails is reported, the advance itself still succeeds).
    assert status == 200, body
    assert body["failed_count"] >= 1, body
    assert any("dispatcher" in str(failure) for failure in body["failed"]), body
    row = await conn.fetchrow("SELECT status, attempts FROM messages")
    assert (row["status"], row["attempts"]) == ("sending", 0)  # leased, not half-finished
    assert await conn.fetchval("SELECT count(*) FROM message_attempts") == 0
    await _free_up(conn, "message_attempts")
    clock.advance_by(timedelta(seconds=30))  # the lease (30 s) runs out
    status, body = await api.post("/v1/test-clock/advance", {"by": "PT1S"})
    assert status == 200, body
    outcomes = [
        r["outcome"]
        for r in await conn.fetch("SELECT outcome FROM message_attempts ORDER BY attempt")
    ]
    assert outcomes == ["lease_expired", "sent"]
    assert await conn.fetchval("SELECT status FROM messages") == "sent"
