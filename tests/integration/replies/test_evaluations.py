"""Evaluations: once per case, the first one stands, and a pending prompt is cancelled."""

from __future__ import annotations

from datetime import datetime

import pytest
from aiohttp import web

from hub.keys import POOL, ROUTING
from hub.replies.evaluations import rate_case
from tests.conftest import Api
from tests.integration import events as ev

NOW = datetime.fromisoformat("2026-03-03T10:00:00+08:00")


async def test_a_case_is_rated_once(api: Api, app: web.Application) -> None:
    """The first rating is stored and shown on the case; a second is refused."""
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("E-1", "2026-03-02T09:00:00+08:00"),
                ev.simple("case.picked_up", "E-1", "2026-03-02T09:30:00+08:00"),
            ]
        },
    )
    routing = app[ROUTING]
    async with app[POOL].acquire() as conn:
        pending = await conn.fetchval(
            "SELECT count(*) FROM timers WHERE kind = 'evaluation_prompt' AND status = 'pending'"
        )
        assert pending == 1
        assert (
            await rate_case(conn, "E-1", 5, comment="很快", source="wap", now=NOW, routing=routing)
            is True
        )
        assert (
            await rate_case(conn, "E-1", 1, comment=None, source="sms", now=NOW, routing=routing)
            is False
        )
        assert (
            await rate_case(conn, "NOPE", 3, comment=None, source="sms", now=NOW, routing=routing)
            is False
        )
        pending = await conn.fetchval(
            "SELECT count(*) FROM timers WHERE kind = 'evaluation_prompt' AND status = 'pending'"
        )
        assert pending == 0
        with pytest.raises(ValueError, match="1 to 5"):
            await rate_case(conn, "E-1", 6, comment=None, source="sms", now=NOW, routing=routing)
    _, case = await api.get("/v1/cases/E-1")
    assert case["rating"] == 5


async def test_a_comment_is_stored_sealed_and_shown_in_the_export(
    api: Api, app: web.Application
) -> None:
    """The table holds no clear comment; the applicant's export shows it as written."""
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("E-2", "2026-03-02T09:00:00+08:00"),
                ev.simple("case.picked_up", "E-2", "2026-03-02T09:30:00+08:00"),
            ]
        },
    )
    async with app[POOL].acquire() as conn:
        await rate_case(
            conn, "E-2", 2, comment="窗口态度差", source="wap", now=NOW, routing=app[ROUTING]
        )
        stored = await conn.fetchval("SELECT comment FROM evaluations WHERE case_no = 'E-2'")
    assert stored.startswith("sm4:") and "窗口" not in stored
    _, found = await api.get("/v1/privacy/subjects/13812345678")
    assert found["cases"][0]["evaluation"]["comment"] == "窗口态度差"
    assert found["cases"][0]["rectifications"][0]["comment"] == "窗口态度差"
