"""The outbox dispatcher on real PostgreSQL against loopback provider fakes, under the manual clock.

Each test enqueues notices with ``hub.notices.outbox.enqueue``, moves the test clock
(``POST /v1/test-clock/advance`` runs the dispatcher's drain hook) and reads
the outcome from the message log (``GET /v1/messages``) and from what the
fake provider received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.base import DeliveryUnknown, Receipt
from core.notices import ChannelKind, OutboundMessage
from hub.app import create_app
from hub.clock import ManualClock
from hub.delivery.dispatcher import Dispatcher
from hub.delivery.registry import ChannelRegistry
from hub.keys import DISPATCH_SETTINGS, DISPATCHER, JITTER, POOL, VAULT
from hub.notices.outbox import Notice
from hub.settings import DispatchSettings, Settings
from tests.conftest import ADMIN_KEY, INGEST_KEY, SUPERVISOR_KEY, Api
from tests.fakes.aliyun import FakeAliyun
from tests.fakes.smtp import FakeSmtp
from tests.integration.dispatch_helpers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    MOBILE,
    SIGN,
    TEMPLATES,
    aliyun_channels,
    ensure_message_routes,
    notice,
    put,
    with_channels,
)

SMS = ChannelKind.SMS


@pytest.fixture
async def aliyun() -> AsyncIterator[FakeAliyun]:
    fake = await FakeAliyun(
        key_id=ALIYUN_KEY_ID,
        secret=ALIYUN_SECRET,
        sign_names={SIGN},
        templates=set(TEMPLATES.values()),
    ).start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
def smtp() -> Any:
    fake = FakeSmtp().start()
    try:
        yield fake
    finally:
        fake.stop()


@dataclass
class Hub:
    """A running app with the dispatcher, its test client and the pieces tests poke at."""

    app: web.Application
    api: Api
    clock: ManualClock

    @property
    def dispatcher(self) -> Dispatcher:
        return self.app[DISPATCHER]

    @property
    def pool(self) -> Any:
        return self.app[POOL]

    async def put(self, notices: Sequence[Notice], *, now: datetime, max_attempts: int = 8) -> int:
        """Queue ``notices`` as the app would (sealed with its key)."""
        return await put(
            self.pool, notices, now=now, max_attempts=max_attempts, vault=self.app[VAULT]
        )

    async def advance(self, by: str) -> None:
        status, body = await self.api.post("/v1/test-clock/advance", {"by": by})
        assert status == 200, body

    async def messages(self, query: str = "") -> list[dict[str, Any]]:
        status, body = await self.api.get(f"/v1/messages?limit=500{query}")
        assert status == 200, body
        return list(body["items"])


HubFactory = Callable[..., Any]


@pytest.fixture
async def make_hub(
    settings: Settings, clock: ManualClock, database_url: str
) -> AsyncIterator[HubFactory]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def build(
        channels: dict[str, Any],
        *,
        dispatch: DispatchSettings | None = None,
        jitter: float = 0.5,
    ) -> Hub:
        app = create_app(
            with_channels(settings, **channels), clock=clock, database_url=database_url
        )
        ensure_message_routes(app)
        app[DISPATCH_SETTINGS] = dispatch or DispatchSettings()
        app[JITTER] = lambda: jitter
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return Hub(app=app, api=Api(client), clock=clock)

    yield build
    for client in clients:
        await client.close()


async def test_sms_is_sent_once_with_our_id_as_out_id(
    make_hub: HubFactory, aliyun: FakeAliyun
) -> None:
    """A due SMS goes to Aliyun exactly once, with the message id as OutId, and the log shows it."""
    hub = await make_hub(aliyun_channels(aliyun.url))
    now = hub.clock.now()
    assert await hub.put([notice("a", (SMS, MOBILE), not_before=now)], now=now) == 1
    await hub.advance("PT1S")
    await hub.advance("PT1H")  # nothing more goes out later
    (msg,) = await hub.messages()
    assert len(aliyun.requests) == 1
    sent = aliyun.requests[0]
    assert sent["OutId"] == str(msg["id"])
    assert sent["PhoneNumbers"] == MOBILE
    assert sent["TemplateCode"] == "SMS_0001"
    assert msg["status"] == "sent"
    assert msg["attempts"] == 1
    assert msg["provider_message_id"] == sent["BizId"]
    assert msg["error"] is None
    assert msg["sent_at"] == "2026-03-02T09:00:00+08:00"  # at its due instant, not the target
    assert msg["body"]
    assert [a["outcome"] for a in msg["attempt_log"]] == ["sent"]
    assert msg["attempt_log"][0]["provider"] == "aliyun"


async def test_nothing_goes_out_before_not_before(make_hub: HubFactory, aliyun: FakeAliyun) -> None:
    """A message waits until its not_before and goes out on the advance that reaches it."""
    hub = await make_hub(aliyun_channels(aliyun.url))
    now = hub.clock.now()
    await hub.put([notice("a", (SMS, MOBILE), not_before=now + timedelta(hours=2))], now=now)
    await hub.advance("PT1H59M59S")
    assert aliyun.requests == []
    assert (await hub.messages())[0]["status"] == "queued"
    await hub.advance("PT1S")
    assert len(aliyun.requests) == 1
    assert (await hub.messages())[0]["sent_at"] == "2026-03-02T11:00:00+08:00"


async def test_transient_failure_is_retried_after_full_jitter_backoff(
    make_hub: HubFactory, aliyun: FakeAliyun
) -> None:
    """A 503 marks it failed with not_before = now + jitter·base; the retry then succeeds."""
    hub = await make_hub(aliyun_channels(aliyun.url), jitter=0.5)
    now = hub.clock.now()
    await hub.put([notice("a", (SMS, MOBILE), not_before=now)], now=now)
    aliyun.fail("unavailable")
    await hub.dispatcher.drain(now)
    (msg,) = await hub.messages()
    assert msg["status"] == "failed"
    assert msg["attempts"] == 1
    assert msg["error"] == "aliyun: HTTP 503"
    assert msg["error_code"] == "HTTP 503"
    # attempt 1: min(3600, 30·2⁰) · 0.5 = 15 s
    assert msg["not_before"] == "2026-03-02T09:00:15+08:00"
    await hub.advance("PT14S")
    assert aliyun.requests == []
    await hub.advance("PT1S")
    (msg,) = await hub.messages()
    assert msg["status"] == "sent"
    assert msg["attempts"] == 2
    assert msg["error"] is None
    assert [a["outcome"] for a in msg["attempt_log"]] == ["transient", "sent"]
    assert msg["attempt_log"][0]["error_code"] == "HTTP 503"
    assert len(aliyun.requests) == 1


async def test_dead_after_max_attempts_keeps_the_last_error(
    make_hub: HubFactory, aliyun: FakeAliyun
) -> None:
    """After max_attempts transient failures the message is dead with the last error and code."""
    hub = await make_hub(aliyun_channels(aliyun.url))
    now = hub.clock.now()
    await hub.put([notice("a", (SMS, MOBILE), not_before=now)], now=now, max_attempts=3)
    aliyun.fail("unavailable", "unavailable", "unavailable")
    for _ in range(4):
        await hub.advance("PT1H")
    (msg,) = await hub.messages()
    assert msg["status"] == "dead"
    assert msg["attempts"] == 3
    assert msg["error"] == "gave up after 3 attempts: aliyun: HTTP 503"
    assert msg["error_code"] == "HTTP 503"
    assert [a["outcome"] for a in msg["attempt_log"]] == ["transient"] * 3
    assert aliyun.requests == []
    assert not aliyun.faults


async def test_permanent_error_dies_and_falls_back_to_email(
    make_hub: HubFactory, aliyun: FakeAliyun, smtp: FakeSmtp
) -> None:
    """A refused number kills the SMS at once and the same advance sends the e-mail fallback."""
    channels = aliyun_channels(aliyun.url) | {
        "email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "tls": "none"}
    }
    hub = await make_hub(channels)
    now = hub.clock.now()
    await hub.put(
        [notice("a", (SMS, MOBILE), (ChannelKind.EMAIL, "zhang@example.com"), not_before=now)],
        now=now,
    )
    aliyun.fail("reject_recipient")
    await hub.advance("PT1S")
    sms, mail = await hub.messages()
    assert sms["channel"] == "sms"
    assert sms["status"] == "dead"
    assert sms["attempts"] == 1
    assert sms["error_code"] == "isv.MOBILE_NUMBER_ILLEGAL"
    assert mail["channel"] == "email"
    assert mail["recipient"] == "zhang@example.com"
    assert mail["status"] == "sent"
    assert mail["note"].startswith(f"fallback after sms #{sms['id']}: ")
    assert "isv.MOBILE_NUMBER_ILLEGAL" in mail["note"]
    assert len(smtp.requests) == 1
    assert str(smtp.requests[0]["Message-ID"]).startswith(f"<{mail['id']}@")
    assert aliyun.requests == []


async def test_a_refused_address_is_stored_and_logged_masked(
    make_hub: HubFactory, smtp: FakeSmtp, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """SMTP names the address it refuses: the log, the attempt and the row keep it masked."""
    channels = {"email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "tls": "none"}}
    hub = await make_hub(channels)
    now = hub.clock.now()
    await hub.put([notice("m", (ChannelKind.EMAIL, "zhang@example.com"), not_before=now)], now=now)
    smtp.fail("reject_recipient")
    capsys.readouterr()
    await hub.advance("PT1S")
    logged = capsys.readouterr()
    [mail] = await hub.messages()
    assert mail["status"] == "dead" and "Recipient address rejected" in mail["error"]
    assert mail["recipient"] == "zhang@example.com"  # the admin still sees whom it was for
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch(
            "SELECT error FROM messages UNION ALL SELECT error FROM message_attempts"
        )
    finally:
        await conn.close()
    assert stored and all("zhang@example.com" not in (r["error"] or "") for r in stored)
    assert "notice_dead" in logged.out + logged.err
    assert "zhang@example.com" not in logged.out + logged.err


async def test_dead_sms_falls_back_to_the_wap_inbox(
    make_hub: HubFactory, aliyun: FakeAliyun
) -> None:
    """A mandatory SMS that dies is stored for the WAP inbox and counts as delivered at once."""
    hub = await make_hub(aliyun_channels(aliyun.url))
    now = hub.clock.now()
    await hub.put(
        [notice("a", (SMS, MOBILE), (ChannelKind.WAP, "p-a"), not_before=now)],
        now=now,
        max_attempts=1,
    )
    aliyun.fail("unavailable")
    await hub.advance("PT1S")
    sms, wap = await hub.messages()
    assert (sms["status"], sms["error"]) == ("dead", "gave up after 1 attempts: aliyun: HTTP 503")
    assert wap["channel"] == "wap"
    assert wap["status"] == "delivered"
    assert wap["delivered_at"] == wap["sent_at"] == "2026-03-02T09:00:00+08:00"
    assert wap["note"].startswith(f"fallback after sms #{sms['id']}")


async def test_wap_message_is_delivered_when_stored(make_hub: HubFactory) -> None:
    """A WAP-medium message needs no provider: it is delivered as soon as it is due."""
    hub = await make_hub({})
    now = hub.clock.now()
    await hub.put([notice("a", (ChannelKind.WAP, "p-a"), not_before=now)], now=now)
    await hub.advance("PT1S")
    (msg,) = await hub.messages()
    assert msg["status"] == "delivered"
    assert msg["attempts"] == 1
    assert msg["attempt_log"][0]["provider"] == "wap"


async def test_disabled_channel_is_a_permanent_failure_with_fallback(
    make_hub: HubFactory,
) -> None:
    """A message for a channel the centre has not enabled dies and moves to the next channel."""
    hub = await make_hub({})
    now = hub.clock.now()
    await hub.put(
        [notice("a", (ChannelKind.WECOM, "wangwei"), (SMS, MOBILE), not_before=now)],
        now=now,
    )
    await hub.advance("PT1S")
    wecom, sms = await hub.messages()
    assert (wecom["status"], wecom["error_code"]) == ("dead", "channel_disabled")
    assert sms["status"] == "sent"  # the console SMS provider
    assert sms["provider_message_id"] == f"console-{sms['id']}"


async def test_open_circuit_delays_instead_of_burning_attempts(
    make_hub: HubFactory, aliyun: FakeAliyun
) -> None:
    """After N failures in a row the provider's other messages wait out the window unspent."""
    dispatch = DispatchSettings(
        circuit_threshold=3, circuit_open_seconds=60, concurrency={"sms": 1}
    )
    hub = await make_hub(aliyun_channels(aliyun.url), dispatch=dispatch, jitter=0.5)
    now = hub.clock.now()
    await hub.put([notice(f"n{i}", (SMS, MOBILE), not_before=now) for i in range(6)], now=now)
    aliyun.fail("unavailable", "unavailable", "unavailable")
    await hub.dispatcher.drain(now)
    msgs = await hub.messages()
    assert [m["attempts"] for m in msgs] == [1, 1, 1, 0, 0, 0]
    assert [m["status"] for m in msgs] == ["failed"] * 3 + ["queued"] * 3
    # The waiting messages moved past the open window; nothing was sent or spent.
    assert {m["not_before"] for m in msgs[3:]} == {"2026-03-02T09:01:00+08:00"}
    await hub.advance("PT30S")  # inside the open window: nothing is tried
    assert [m["attempts"] for m in await hub.messages()] == [1, 1, 1, 0, 0, 0]
    await hub.advance("PT31S")  # half-open: one probe succeeds, the circuit closes
    msgs = await hub.messages()
    assert [m["status"] for m in msgs] == ["sent"] * 6
    assert [m["attempts"] for m in msgs] == [2, 2, 2, 1, 1, 1]
    assert len(aliyun.requests) == 6


async def test_failed_probe_reopens_the_circuit(make_hub: HubFactory, aliyun: FakeAliyun) -> None:
    """When the half-open probe fails too, the circuit opens for another window."""
    dispatch = DispatchSettings(
        circuit_threshold=2, circuit_open_seconds=60, concurrency={"sms": 1}
    )
    hub = await make_hub(aliyun_channels(aliyun.url), dispatch=dispatch, jitter=0.0)
    now = hub.clock.now()
    await hub.put([notice(f"n{i}", (SMS, MOBILE), not_before=now) for i in range(3)], now=now)
    aliyun.fail("unavailable", "unavailable", "unavailable")
    await hub.advance("PT1S")
    assert [m["attempts"] for m in await hub.messages()] == [1, 1, 0]
    await hub.advance("PT60S")  # the probe at 09:01:00 fails: open again until 09:02:00
    msgs = await hub.messages()
    assert [m["attempts"] for m in msgs] == [2, 1, 0]
    assert hub.dispatcher.breaker("aliyun").open_until == now + timedelta(seconds=120)
    await hub.advance("PT60S")
    msgs = await hub.messages()
    assert [m["status"] for m in msgs] == ["sent"] * 3


async def test_reaper_returns_an_expired_lease_and_the_message_is_sent(
    make_hub: HubFactory, aliyun: FakeAliyun
) -> None:
    """A row leased by a worker that died goes back to the queue after its lease and is sent."""
    hub = await make_hub(aliyun_channels(aliyun.url))
    now = hub.clock.now()
    await hub.put([notice("a", (SMS, MOBILE), not_before=now)], now=now)
    crashed = Dispatcher(
        pool=hub.pool,
        clock=hub.clock,
        channels=hub.dispatcher.channels,
        owner="crashed-worker",
        vault=hub.app[VAULT],
    )
    (claimed,) = await crashed.claim(now, 10)  # ... and never comes back
    assert claimed["status"] == "sending"
    await hub.advance("PT29S")  # the lease (30 s) still holds
    assert (await hub.messages())[0]["status"] == "sending"
    assert aliyun.requests == []
    await hub.advance("PT2S")
    (msg,) = await hub.messages()
    assert msg["status"] == "sent"
    assert msg["attempts"] == 2
    reaped, sent = msg["attempt_log"]
    assert (reaped["outcome"], reaped["owner"]) == ("lease_expired", "crashed-worker")
    assert reaped["started_at"] == "2026-03-02T09:00:00+08:00"
    assert sent["outcome"] == "sent"
    assert len(aliyun.requests) == 1


class _UnsureChannel:
    """A channel whose provider never answers in time (the request may have landed)."""

    kind = None

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> Receipt:
        self.sent.append(message)
        raise DeliveryUnknown("aliyun: no answer within 10.0 s")

    async def aclose(self) -> None:
        return None


async def test_unknown_outcome_is_not_resent(clock: ManualClock, make_hub: HubFactory) -> None:
    """A send that may have reached the provider is kept as sent, with the doubt on record."""
    hub = await make_hub({})
    now = clock.now()
    await hub.put([notice("a", (SMS, MOBILE), not_before=now)], now=now)
    unsure = _UnsureChannel()
    dispatcher = Dispatcher(
        pool=hub.pool,
        clock=clock,
        channels=ChannelRegistry(adapters={SMS: unsure}, providers={SMS: "aliyun"}),
        vault=hub.app[VAULT],
    )
    assert await dispatcher.drain(now) == 1
    clock.advance_by(timedelta(hours=3))
    assert await dispatcher.drain() == 0
    (msg,) = await hub.messages()
    assert len(unsure.sent) == 1
    assert msg["status"] == "sent"
    assert msg["error"] == "outcome unknown, not resent: aliyun: no answer within 10.0 s"
    assert msg["attempt_log"][0]["outcome"] == "unknown"


async def test_priority_goes_first_within_a_batch(make_hub: HubFactory, aliyun: FakeAliyun) -> None:
    """Lower priority numbers are claimed and sent before older messages of higher numbers."""
    dispatch = DispatchSettings(concurrency={"sms": 1})
    hub = await make_hub(aliyun_channels(aliyun.url), dispatch=dispatch)
    now = hub.clock.now()
    await hub.put(
        [
            notice("late", (SMS, "13800000001"), not_before=now - timedelta(hours=1), priority=5),
            notice("urgent", (SMS, "13800000002"), not_before=now, priority=0),
        ],
        now=now,
    )
    await hub.advance("PT1S")
    assert [r["PhoneNumbers"] for r in aliyun.requests] == ["13800000002", "13800000001"]


async def test_message_log_filters_paginates_and_checks_roles(make_hub: HubFactory) -> None:
    """GET /v1/messages filters, pages by cursor, and is for admins and supervisors only."""
    hub = await make_hub({})
    now = hub.clock.now()
    await hub.put(
        [notice(f"n{i}", (SMS, f"1380000000{i}"), not_before=now) for i in range(5)],
        now=now,
    )
    await hub.put(
        [notice("later", (SMS, MOBILE), not_before=now + timedelta(days=1))],
        now=now,
    )
    await hub.advance("PT1S")
    status, page1 = await hub.api.get("/v1/messages?limit=4", key=SUPERVISOR_KEY)
    assert status == 200
    assert len(page1["items"]) == 4
    status, page2 = await hub.api.get(
        f"/v1/messages?limit=4&cursor={page1['next_cursor']}", key=ADMIN_KEY
    )
    assert [m["id"] for m in page2["items"]] == [page1["items"][-1]["id"] + 1, 6]
    assert page2["next_cursor"] is None
    assert len(await hub.messages("&status=sent")) == 5
    assert [m["recipient"] for m in await hub.messages("&status=queued")] == [MOBILE]
    assert len(await hub.messages(f"&recipient={MOBILE}")) == 1
    assert len(await hub.messages("&case_no=ZW-2026-0001&kind=case_accepted")) == 6
    assert await hub.messages("&case_no=nope") == []
    assert len(await hub.messages("&person_id=p-n3")) == 1
    status, _ = await hub.api.get("/v1/messages", key=INGEST_KEY)
    assert status == 403
    status, body = await hub.api.get("/v1/messages?status=lost&kind=x&limit=0&cursor=!!")
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"status", "kind", "limit"}
    status, body = await hub.api.get("/v1/messages?cursor=bm9wZQ")
    assert status == 422
    assert body["errors"][0]["field"] == "cursor"
    expected = datetime.fromisoformat("2026-03-02T09:00:00+08:00")
    assert datetime.fromisoformat(page1["items"][0]["created_at"]) == expected
