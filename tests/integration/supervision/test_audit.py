"""The audit trail: who changed people and departments, who urged; append-only; notices hashed."""

from __future__ import annotations

import hashlib

import asyncpg
import pytest

from tests.conftest import INGEST_KEY, SUPERVISOR_KEY, Api, opened_rows
from tests.integration import events as ev


async def test_changes_and_urges_are_audited_by_key(api: Api) -> None:
    """PUT people/departments and urges leave audit rows naming the acting key, in order."""
    await api.put("/v1/people/p-li", {"name": "李四", "mobile": "13900001111"})
    await api.put("/v1/departments/SCJG", {"name": "市场监督管理局", "supervisors": ["p-li"]})
    await api.post("/v1/events", ev.node_started("AU-1", "n1", "2026-03-02T10:00:00+08:00"))
    status, _ = await api.post(
        "/v1/cases/AU-1/urge", {"by": "p-li", "note": "快"}, key=SUPERVISOR_KEY
    )
    assert status == 202

    status, page = await api.get("/v1/audit", key=SUPERVISOR_KEY)
    assert status == 200
    rows = [(r["action"], r["subject"], r["actor_role"]) for r in page["items"]]
    assert rows == [
        ("person.put", "p-li", "admin"),
        ("department.put", "SCJG", "admin"),
        ("case.urge", "AU-1", "supervisor"),
    ]
    first = page["items"][0]
    assert first["detail"]["mobile"] == "139****1111"  # the trail keeps no full mobile number
    assert first["actor"].startswith("admin:")
    _, only = await api.get("/v1/audit?subject=SCJG")
    assert [r["action"] for r in only["items"]] == ["department.put"]
    assert (await api.get("/v1/audit", key=INGEST_KEY))[0] == 403
    assert (await api.get("/v1/audit?from=yesterday"))[0] == 422


async def test_the_trail_cannot_be_rewritten(api: Api, database_url: str) -> None:
    """UPDATE and DELETE on audit rows are refused by the database."""
    await api.put("/v1/people/p-x", {"name": "王五"})
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE audit_log SET actor = 'someone else'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log")
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 1
    finally:
        await conn.close()


async def test_every_notice_carries_the_hash_of_what_it_said(api: Api, database_url: str) -> None:
    """A message's content_hash is the SHA-256 of its subject and body as written."""
    await api.post("/v1/events", ev.accepted("AU-2", "2026-03-02T09:00:00+08:00"))
    conn = await asyncpg.connect(database_url)
    try:
        rows = opened_rows(
            await conn.fetch("SELECT subject, body, content_hash, sealed FROM messages")
        )
    finally:
        await conn.close()
    assert rows
    for row in rows:
        text = f"{row['subject'] or ''}\n{row['body']}"
        assert bytes(row["content_hash"]) == hashlib.sha256(text.encode()).digest()
