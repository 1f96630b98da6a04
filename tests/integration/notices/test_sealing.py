"""The outbox at rest (issue 19): no number, body or code in clear; lookups by blind index."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import Settings
from tests.conftest import ADMIN_KEY, Api
from tests.integration import events as ev
from tests.integration import wap_data as data

MOBILE = "13812345678"  # the applicant of every case built by events.accepted


async def _rows(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _request_sms_code(api: Api, mobile: str) -> None:
    page = await (await api.client.get("/wap/")).text()
    resp = await api.client.post(
        "/wap/code", data={"csrf": data.csrf_of(page), "mobile": mobile}, allow_redirects=False
    )
    assert resp.status == 200


async def test_the_outbox_holds_no_number_body_or_code_in_clear(
    api: Api, database_url: str
) -> None:
    """Every column of every message, read straight from PostgreSQL, names no mobile, code,
    query code or sentence it said; the admin's message log still reads them all."""
    await data.seed(api)
    await _request_sms_code(api, data.MOBILE)
    status, log = await api.get("/v1/messages?limit=500", key=ADMIN_KEY)
    assert status == 200 and log["items"]
    sms_code = next(
        re.search(r"验证码为(\d{6})", m["body"])[1]  # type: ignore[index]
        for m in log["items"]
        if m["kind"] == "verification_code"
    )
    bodies = [m["body"] for m in log["items"] if m["body"]]
    assert any(data.QUERY_CODE in b for b in bodies)  # read back in clear

    stored = await _rows(database_url, "SELECT * FROM messages")
    assert len(stored) == len(log["items"])
    for row in stored:
        clear = " ".join(str(v) for k, v in dict(row).items() if k != "recipient_index")
        for secret in (data.MOBILE, sms_code, data.QUERY_CODE, *bodies):
            assert secret not in clear, (row["kind"], secret)
        assert row["sealed"].startswith("sm4:")  # recipient, words, variables: one value
        assert (row["recipient"], row["body"], row["personal"]) == (None, None, None)
        assert row["recipient_index"] is not None
        assert not {"code", "query_code"} & json.loads(row["context"]).keys()


async def test_the_recipient_filter_finds_sealed_rows_and_rows_written_before_sealing(
    api: Api, database_url: str
) -> None:
    """?recipient= matches the number however it is written, and an old clear row by its text."""
    await api.post("/v1/events", ev.accepted("S-1", "2026-03-02T09:00:00+08:00"))
    conn = await asyncpg.connect(database_url)
    try:  # a notice queued by a hub before migration 0029: clear, no index
        await conn.execute(
            "INSERT INTO messages (dedupe_key, kind, channel, recipient, body, mandatory,"
            " fallbacks, not_before, max_attempts, created_at, updated_at)"
            " SELECT 'old|sms', 'pickup_notice', 'sms', $1, '旧的领取通知', true,"
            '        \'[{"channel": "wap", "recipient": "p-1"}]\', now(), 8, now(), now()',
            MOBILE,
        )
    finally:
        await conn.close()
    for written in (MOBILE, f"%2B86{MOBILE}", "138-1234-5678"):
        status, page = await api.get(f"/v1/messages?recipient={written}")
        assert status == 200
        kinds = [m["kind"] for m in page["items"]]
        assert "case_accepted" in kinds, written
    _, page = await api.get(f"/v1/messages?recipient={MOBILE}&kind=pickup_notice")
    [old] = page["items"]
    assert (old["recipient"], old["body"]) == (MOBILE, "旧的领取通知")
    _, page = await api.get("/v1/messages?recipient=13900000000")
    assert page["items"] == []


@pytest.fixture
async def started_after_a_clear_opt_out(
    settings: Settings, clock: ManualClock, database_url: str
) -> AsyncIterator[Api]:
    """A hub started over a database holding an opt-out stored in clear (before sealing)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO opt_outs (mobile, at) VALUES ($1, now())", MOBILE)
    finally:
        await conn.close()
    app: web.Application = create_app(settings, clock=clock, database_url=database_url)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


async def test_an_opt_out_from_before_sealing_still_holds(
    started_after_a_clear_opt_out: Api, database_url: str
) -> None:
    """Start-up gives the old opt-out its blind index, so the evaluation prompt is cancelled."""
    api = started_after_a_clear_opt_out
    [opt_out] = await _rows(database_url, "SELECT mobile_index FROM opt_outs")
    assert opt_out["mobile_index"] is not None
    await api.post("/v1/events", ev.accepted("T-1", "2026-03-02T09:00:00+08:00"))
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.simple(
                    "case.ready_for_pickup", "T-1", "2026-03-02T09:20:00+08:00", location="3号窗口"
                ),
                ev.simple("case.picked_up", "T-1", "2026-03-02T09:30:00+08:00"),
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"to": "2026-03-02T11:00:00+08:00"})
    _, page = await api.get("/v1/messages?kind=evaluation_prompt")
    assert [(m["status"], m["error_code"]) for m in page["items"]] == [("cancelled", "opted_out")]
