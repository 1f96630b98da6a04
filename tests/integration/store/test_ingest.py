"""What ingest stores: the body as the approval system sent it, replayed to the same case."""

from __future__ import annotations

import json

import asyncpg

from tests.conftest import Api
from tests.integration import events as ev

MON = "2026-03-02T10:00:00+08:00"


async def test_the_stored_event_is_the_body_as_sent(api: Api, database_url: str) -> None:
    """No re-encoded model: a bare department code stays bare, absent options stay absent."""
    started = {**ev.node_started("S-1", "n1", MON), "department": "SCJG"}
    assert (await api.post("/v1/events", started))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT payload FROM events WHERE event_id = $1", started["event_id"]
        )
    finally:
        await conn.close()
    assert json.loads(stored) == started
    _, case = await api.get("/v1/cases/S-1")
    assert case["nodes"][0]["department"]["code"] == "SCJG"
