"""Status webhooks against a loopback receiver that checks every signature itself."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from hub.app import create_app
from hub.clock import ManualClock
from hub.keys import JITTER
from hub.settings import PolicySettings, Settings, WebhookSettings
from tests.conftest import START, Api
from tests.integration import events as ev

SECRET = "whsec-test-0001"


class Receiver:
    """The approval system's end: verifies ``X-Cuiban-Signature`` and records what arrived."""

    def __init__(self, clock: ManualClock, secret: str = SECRET) -> None:
        self.clock, self.secret = clock, secret.encode()
        self.received: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self.fail_with: deque[int] = deque()  # statuses to answer next, before 204s
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Cuiban-Timestamp", "")
        expected = hmac.new(self.secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Cuiban-Signature", "")
        if not hmac.compare_digest(given, f"sha256={expected}"):
            self.rejected.append("signature")
            return web.Response(status=401)
        if abs(int(stamp) - self.clock.now().timestamp()) > 300:
            self.rejected.append("stale")
            return web.Response(status=401)
        if self.fail_with:
            return web.Response(status=self.fail_with.popleft(), text="receiver down")
        self.received.append(
            {**json.loads(body), "_event_header": request.headers["X-Cuiban-Event-Id"]}
        )
        return web.Response(status=204)


@pytest.fixture
async def receivers(clock: ManualClock) -> AsyncIterator[list[Receiver]]:
    pair = [Receiver(clock), Receiver(clock)]
    for receiver in pair:
        await receiver.server.start_server()
    try:
        yield pair
    finally:
        for receiver in pair:
            await receiver.server.close()


async def _hub(
    settings: Settings, clock: ManualClock, database_url: str, urls: list[str], **policy: Any
) -> AsyncIterator[Api]:
    settings = settings.model_copy(
        update={
            "webhooks": WebhookSettings(urls=tuple(urls), secret=SecretStr(SECRET)),
            "policy": PolicySettings(**policy),
        }
    )
    app = create_app(settings, clock=clock, database_url=database_url)
    app[JITTER] = lambda: 1.0  # backoff at its ceiling: 30 s, 60 s, 120 s …
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


@pytest.fixture
async def hub(
    settings: Settings, clock: ManualClock, database_url: str, receivers: list[Receiver]
) -> AsyncIterator[Api]:
    async for api in _hub(settings, clock, database_url, [r.url for r in receivers]):
        yield api


async def _accept(api: Api, case_no: str) -> None:
    status, _ = await api.post("/v1/events", ev.accepted(case_no, START.isoformat()))
    assert status == 202


async def test_a_send_is_posted_signed_to_every_url_without_body_or_full_mobile(
    hub: Api, receivers: list[Receiver]
) -> None:
    """A sent SMS reaches both URLs once, signed, with the masked number and no message text."""
    await _accept(hub, "WH-1")
    await hub.post("/v1/test-clock/advance", {"by": "PT1M"})
    for receiver in receivers:
        assert receiver.rejected == []
        [event] = receiver.received
        assert event["status"] == "sent"
        assert event["kind"] == "case_accepted"
        assert event["channel"] == "sms"
        assert event["case_no"] == "WH-1"
        assert event["recipient"] == "138****5678"
        assert event["attempts"] == 1
        assert event["occurred_at"] == "2026-03-02T09:00:00+08:00"  # when it was sent
        assert str(event["event_id"]) == event["_event_header"]
        assert "body" not in event and "13812345678" not in json.dumps(event)
    _, log = await hub.get("/v1/messages?case_no=WH-1")
    assert receivers[0].received[0]["message_id"] == log["items"][0]["id"]


async def test_a_failing_receiver_gets_retries_with_backoff_until_it_answers(
    hub: Api, receivers: list[Receiver], database_url: str
) -> None:
    """Two 500s are retried after 30 s and 60 s (full jitter at its ceiling); the third lands."""
    first, second = receivers
    first.fail_with.extend([500, 503])
    await _accept(hub, "WH-2")
    await hub.post("/v1/test-clock/advance", {"by": "PT29S"})  # sent and posted at 09:00:00
    assert first.received == [] and len(second.received) == 1
    assert len(first.fail_with) == 1  # not yet due again
    await hub.post("/v1/test-clock/advance", {"by": "PT1S"})  # 09:00:30: the second 5xx
    assert len(first.fail_with) == 0 and first.received == []
    await hub.post("/v1/test-clock/advance", {"by": "PT59S"})
    assert first.received == []  # the third try is due at 09:01:30
    await hub.post("/v1/test-clock/advance", {"by": "PT1S"})
    assert [e["status"] for e in first.received] == ["sent"]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT url, status, attempts FROM webhook_deliveries ORDER BY url")
    finally:
        await conn.close()
    assert {(r["url"], r["status"], r["attempts"]) for r in rows} == {
        (first.url, "delivered", 3),
        (second.url, "delivered", 1),
    }


async def test_after_max_attempts_the_delivery_is_dead_with_its_last_error(
    settings: Settings, clock: ManualClock, database_url: str, receivers: list[Receiver]
) -> None:
    """With policy.max_attempts = 2, two failures end the delivery as dead, last error kept."""
    receiver = receivers[0]
    receiver.fail_with.extend([500, 502, 500])
    async for api in _hub(settings, clock, database_url, [receiver.url], max_attempts=2):
        await _accept(api, "WH-3")
        await api.post("/v1/test-clock/advance", {"by": "PT1M"})
        await api.post("/v1/test-clock/advance", {"by": "PT1H"})
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM webhook_deliveries")
    finally:
        await conn.close()
    assert row["status"] == "dead" and row["attempts"] == 2
    assert row["last_status"] == 502
    assert row["last_error"] == "gave up after 2 attempts: HTTP 502: receiver down"
    assert list(receiver.fail_with) == [500]


async def test_the_event_is_written_with_the_status_change_or_not_at_all(
    hub: Api, database_url: str
) -> None:
    """A rolled-back status change leaves no event; a committed one leaves exactly one."""
    await _accept(hub, "WH-4")
    conn = await asyncpg.connect(database_url)
    try:
        message_id = await conn.fetchval("SELECT id FROM messages WHERE case_no = 'WH-4'")
        tr = conn.transaction()
        await tr.start()
        await conn.execute("UPDATE messages SET status = 'dead' WHERE id = $1", message_id)
        assert await conn.fetchval("SELECT count(*) FROM webhook_events") == 1
        await tr.rollback()
        assert await conn.fetchval("SELECT count(*) FROM webhook_events") == 0
        await conn.execute("UPDATE messages SET status = 'queued' WHERE id = $1", message_id)
        assert await conn.fetchval("SELECT count(*) FROM webhook_events") == 0
    finally:
        await conn.close()


async def test_without_urls_nothing_is_recorded(api: Api, database_url: str) -> None:
    """With webhooks.urls empty (the default) the trigger stores no events at all."""
    await _accept(api, "WH-5")
    await api.post("/v1/test-clock/advance", {"by": "PT1M"})
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT status FROM messages") == "sent"
        assert await conn.fetchval("SELECT count(*) FROM webhook_events") == 0
    finally:
        await conn.close()


async def test_delivered_events_older_than_30_days_are_pruned(
    hub: Api, receivers: list[Receiver], clock: ManualClock, database_url: str
) -> None:
    """An event delivered everywhere leaves after 30 days; one with a dead delivery stays."""
    receivers[0].fail_with.extend([500] * 8)
    await _accept(hub, "WH-6")
    for _ in range(9):  # one attempt per advance: 8 for the failing URL, all spent
        await hub.post("/v1/test-clock/advance", {"by": "PT1H"})
    await _accept(hub, "WH-7")
    await hub.post("/v1/test-clock/advance", {"by": "PT1M"})
    await hub.post("/v1/test-clock/advance", {"to": (clock.now() + timedelta(days=31)).isoformat()})
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT m.case_no, d.status FROM webhook_deliveries d"
            " JOIN webhook_events e ON e.id = d.event_id JOIN messages m ON m.id = e.message_id"
            " WHERE m.case_no IN ('WH-6', 'WH-7') ORDER BY m.case_no, d.status"
        )
    finally:
        await conn.close()
    # WH-6 is dead at one URL, so it stays; WH-7 arrived everywhere and is gone.
    assert [(r["case_no"], r["status"]) for r in rows] == [("WH-6", "dead"), ("WH-6", "delivered")]
