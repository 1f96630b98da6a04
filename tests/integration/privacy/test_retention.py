"""Retention: closed and withdrawn cases past privacy.retain_days are de-identified daily."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from aiohttp import web

from hub.keys import POOL, ROUTING, VAULT
from hub.privacy.fields import CASES_APPLICANT, EVALUATIONS_COMMENT
from hub.privacy.retention import apply_retention
from hub.privacy.vault import DataKey, Vault
from hub.replies.evaluations import rate_case
from hub.settings import Settings
from tests.conftest import START, Api
from tests.integration import events as ev

STATS = "/v1/stats?from=2026-03-01T00:00:00%2B08:00&to=2026-04-01T00:00:00%2B08:00"
OLD, WITHDRAWN, OPEN = "RT-CLOSED", "RT-WITHDRAWN", "RT-OPEN"
ZHANG = {"name": "张三丰", "mobile": "13812345678", "email": "zhangsf@example.cn"}
LI = {"name": "李小龙", "mobile": "13900002222"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Kept one day after closing, so a three-day advance crosses it."""
    privacy = settings.privacy.model_copy(update={"retain_days": 1})
    return settings.model_copy(update={"privacy": privacy})


async def _seed(api: Api, app: web.Application) -> None:
    batch = [
        ev.accepted(OLD, "2026-03-02T09:00:00+08:00", applicant=ZHANG),
        ev.node_started(OLD, "n1", "2026-03-02T09:05:00+08:00"),
        ev.node_completed(OLD, "n1", "2026-03-02T09:10:00+08:00"),
        ev.simple("case.closed", OLD, "2026-03-02T09:20:00+08:00"),
        ev.accepted(WITHDRAWN, "2026-03-02T09:00:00+08:00", applicant=ZHANG),
        ev.simple("case.withdrawn", WITHDRAWN, "2026-03-02T09:30:00+08:00"),
        ev.accepted(OPEN, "2026-03-02T09:00:00+08:00", applicant=LI),
        ev.node_started(OPEN, "o1", "2026-03-02T09:05:00+08:00"),
    ]
    status, body = await api.post("/v1/events", {"events": batch})
    assert status == 202, body
    async with app[POOL].acquire() as conn:
        await rate_case(
            conn,
            OLD,
            4,
            comment="挺好，有事打13812345678找张三丰",
            source="wap",
            now=START,
            routing=app[ROUTING],
        )
    assert (await api.post("/v1/test-clock/advance", {"by": "PT2H"}))[0] == 200


async def test_closed_cases_past_retention_keep_only_masked_data(
    api: Api, app: web.Application, database_url: str
) -> None:
    """Past retain_days the closed and withdrawn cases say 张*/138****5678; stats are unchanged;
    the open case is untouched; each case done is in the audit trail."""
    await _seed(api, app)
    _, before = await api.get(STATS)
    _, open_before = await api.get(f"/v1/messages?case_no={OPEN}")
    _, old_before = await api.get(f"/v1/messages?case_no={OLD}")
    assert any(m["recipient"] == "13812345678" for m in old_before["items"])

    status, _ = await api.post("/v1/test-clock/advance", {"by": "P3D"})
    assert status == 200

    _, after = await api.get(STATS)
    assert after == before
    _, case = await api.get(f"/v1/cases/{OLD}")
    assert case["applicant"]["name"] == "张*"
    assert case["rating"] == 4
    for case_no in (OLD, WITHDRAWN):
        _, messages = await api.get(f"/v1/messages?case_no={case_no}")
        assert messages["items"]
        for message in messages["items"]:
            assert message["status"] in ("sent", "delivered", "cancelled")
            assert message["recipient"] in ("138****5678", "z***@example.cn", "13****11")
            assert "13812345678" not in message["body"] and "张三丰" not in message["body"]
    _, open_after = await api.get(f"/v1/messages?case_no={OPEN}")
    assert open_after["items"][: len(open_before["items"])] == open_before["items"]
    assert open_after["items"][0]["recipient"] == "13900002222"

    _, log = await api.get("/v1/audit?action=case.deidentified")
    assert sorted(r["subject"] for r in log["items"]) == [OLD, WITHDRAWN]
    assert {r["actor"] for r in log["items"]} == {"retention"}

    conn = await asyncpg.connect(database_url)
    try:
        dump = await conn.fetchval(
            "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM events WHERE case_no <> $1"
            " UNION ALL SELECT * FROM events WHERE false) t",
            OPEN,
        )
        comment = await conn.fetchval("SELECT comment FROM evaluations WHERE case_no = $1", OLD)
        open_applicant = await conn.fetchval(
            "SELECT applicant::text FROM cases WHERE case_no = $1", OPEN
        )
    finally:
        await conn.close()
    assert "张三丰" not in dump and "13812345678" not in dump and "zhangsf" not in dump
    assert comment.startswith("sm4:")  # the masked comment is stored sealed again
    assert app[VAULT].open(comment, field=EVALUATIONS_COMMENT) == "挺好，有事打138****5678找张*"
    assert "李小龙" in open_applicant or open_applicant.startswith('"sm4:')


async def test_a_case_closed_within_retention_is_kept(api: Api, app: web.Application) -> None:
    """A day before the limit nothing changes."""
    await _seed(api, app)
    _, before = await api.get(f"/v1/messages?case_no={OLD}")
    await api.post("/v1/test-clock/advance", {"by": "PT12H"})
    _, after = await api.get(f"/v1/messages?case_no={OLD}")
    assert after == before
    _, log = await api.get("/v1/audit?action=case.deidentified")
    assert log["items"] == []


async def test_a_case_that_will_not_open_is_set_aside_and_the_others_done(
    api: Api, app: web.Application
) -> None:
    """A value sealed under a key no longer configured fails its case alone, not the run."""
    await _seed(api, app)
    stranger = Vault(DataKey.from_hex("33" * 32))
    async with app[POOL].acquire() as conn:
        await conn.execute(
            "UPDATE cases SET applicant = to_jsonb($2::text) WHERE case_no = $1",
            WITHDRAWN,
            stranger.seal('{"name": "某人"}', field=CASES_APPLICANT),
        )
    result = await apply_retention(
        app[POOL], app[VAULT], now=START + timedelta(days=3), retain_days=1
    )
    assert result.failed == [WITHDRAWN]
    assert result.cases == 1
    _, log = await api.get("/v1/audit?action=case.deidentified")
    assert [r["subject"] for r in log["items"]] == [OLD]
