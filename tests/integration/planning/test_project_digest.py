"""The project manager's digest (项目经理负责制): each change once, in the digest after it."""

from __future__ import annotations

from aiohttp import web

from hub.clock import ManualClock
from hub.keys import POOL, SERVICES
from hub.planning.project_digest import project_digest_job
from tests.conftest import Api, opened_rows
from tests.integration import events as ev

PROJECT = {"id": "XM-9", "name": "新能源产业园", "manager": "p-pm"}


async def _digests(app: web.Application) -> list[str]:
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch(
            "SELECT context, personal, sealed FROM messages"
            " WHERE kind = 'project_digest' AND channel = 'sms' ORDER BY id"
        )
    return [str(r["context"]["content"]) for r in opened_rows(rows)]


async def test_a_second_digest_lists_only_what_changed_since_the_first(
    api: Api, app: web.Application, clock: ManualClock
) -> None:
    """After a digest, the next one names the new event alone, not the project's history."""
    status, _ = await api.put(
        "/v1/people/p-pm", {"name": "周经理", "mobile": "13900007777", "channels": ["sms"]}
    )
    assert status in (200, 201)
    now = clock.now()
    status, _ = await api.post("/v1/events", ev.accepted("XM9-1", now.isoformat(), project=PROJECT))
    assert status == 202
    assert await project_digest_job(app[SERVICES], now) == 1
    assert await project_digest_job(app[SERVICES], now) == 0

    await api.post("/v1/events", ev.node_started("XM9-1", "n1", now.isoformat()))
    assert await project_digest_job(app[SERVICES], now) == 1

    first, second = await _digests(app)
    assert "受理" in first
    [line] = second.splitlines()
    assert "进入环节「审查」" in line and "受理" not in line
