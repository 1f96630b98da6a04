"""No holes in what people read: halved limits, names instead of ids, registered names."""

from __future__ import annotations

import asyncpg

from tests.conftest import SUPERVISOR_KEY, Api, opened_rows
from tests.integration import events as ev
from tests.integration.planning.test_planner import at, setup_department


async def bodies(database_url: str, kind: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = opened_rows(
            await conn.fetch(
                "SELECT body, sealed FROM messages WHERE kind = $1 AND channel = 'sms' ORDER BY id",
                kind,
            )
        )
    finally:
        await conn.close()
    return [r["body"] for r in rows]


async def test_the_green_channel_notice_states_the_halved_limit(
    api: Api, database_url: str
) -> None:
    """A 10-working-day case on the green channel: the head reads "时限减半为5个工作日"."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        ev.accepted("G-1", at("2026-03-02T10:00").isoformat(), limit=9, green_channel=True),
    )
    (body,) = await bodies(database_url, "green_channel")
    assert "时限减半为5个工作日" in body
    assert "9个工作日" not in body


async def test_an_urge_names_the_supervisor_never_an_id(api: Api, database_url: str) -> None:
    """By a registered supervisor: their name; by an id with no name on record: a role word."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("U-1", "n1", at("2026-03-02T10:00").isoformat(), limit=3)
    )
    await api.post("/v1/cases/U-1/urge", {"by": "p-sup", "note": ""}, key=SUPERVISOR_KEY)
    await api.post("/v1/cases/U-1/urge", {"by": "sup-x", "note": ""}, key=SUPERVISOR_KEY)
    named, unnamed = await bodies(database_url, "urge")
    assert named.startswith("催办：周监察催办U-1")
    assert unnamed.startswith("催办：督办人员催办U-1")
    assert "sup-x" not in unnamed
