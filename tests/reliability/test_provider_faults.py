"""A misbehaving SMS provider: timeouts, 5xx, reset connections, slow answers, minutes of outage.

The provider is the loopback fake Aliyun (signatures checked) with two more
faults — a connection reset after the request arrived and a slow answer — and
a switch that makes it answer 503 to everything. The dispatcher runs under the
manual clock with a 0.3 s request timeout, so a hang costs 0.3 s of real time;
tests/integration/test_dispatch.py covers single retries and the breaker's
basic moves, these tests follow whole stories and count both sides: what the
fake received against what the message log says.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.aliyun import AliyunConfig, AliyunSms
from core.notices import ChannelKind, NoticeKind
from hub.clock import ManualClock
from hub.delivery.dispatcher import Dispatcher
from hub.delivery.registry import ChannelRegistry
from hub.keys import POOL, VAULT
from hub.settings import DispatchSettings
from tests.conftest import Api
from tests.fakes.aliyun import FakeAliyun
from tests.integration.dispatch_helpers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    SIGN,
    TEMPLATES,
    ensure_message_routes,
    notice,
    put,
)

SMS, WAP = ChannelKind.SMS, ChannelKind.WAP


class FaultyAliyun(FakeAliyun):
    """The fake Aliyun, plus ``reset`` and ``slow:<seconds>`` faults and a ``down`` switch."""

    def __init__(self) -> None:
        super().__init__(
            key_id=ALIYUN_KEY_ID,
            secret=ALIYUN_SECRET,
            sign_names={SIGN},
            templates=set(TEMPLATES.values()),
        )
        self.down = False
        self.hits = 0  # every request that reached the fake, answered or not

    def queue(self, *faults: str) -> None:
        self.faults.extend(faults)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        fault = self.faults[0] if self.faults else ""
        if fault == "reset":
            self.faults.popleft()
            await request.read()  # the request arrived whole; the answer never leaves
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if fault.startswith("slow:"):
            self.faults.popleft()
            await asyncio.sleep(float(fault.removeprefix("slow:")))
        return await super().handle(request)


@pytest.fixture
async def provider() -> AsyncIterator[FaultyAliyun]:
    fake = FaultyAliyun()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


class Rig:
    """The hub (for its pool and message log) and a dispatcher wired to the faulty provider."""

    def __init__(self, app: web.Application, api: Api, clock: ManualClock) -> None:
        self.app, self.api, self.clock = app, api, clock
        self.dispatcher: Dispatcher | None = None
        self.session = aiohttp.ClientSession()

    def wire(self, provider: FaultyAliyun, settings: DispatchSettings) -> Dispatcher:
        config = AliyunConfig(
            endpoint=provider.url,
            access_key_id=ALIYUN_KEY_ID,
            access_key_secret=ALIYUN_SECRET,
            sign_name=SIGN,
            templates=TEMPLATES,
            timeout=0.3,
        )
        sms = AliyunSms(config, session=self.session, clock=self.clock.now)
        self.dispatcher = Dispatcher(
            pool=self.app[POOL],
            clock=self.clock,
            channels=ChannelRegistry(adapters={SMS: sms}, providers={SMS: "aliyun"}),
            settings=settings,
            jitter=lambda: 0.5,
            vault=self.app[VAULT],
        )
        return self.dispatcher

    async def advance(self, seconds: float) -> None:
        assert self.dispatcher is not None
        self.clock.advance_by(timedelta(seconds=seconds))
        await self.dispatcher.drain()

    async def messages(self) -> list[dict[str, Any]]:
        status, body = await self.api.get("/v1/messages?limit=500")
        assert status == 200, body
        return list(body["items"])


@pytest.fixture
async def rig(app: web.Application, clock: ManualClock) -> AsyncIterator[Rig]:
    ensure_message_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    made = Rig(app, Api(client), clock)
    try:
        yield made
    finally:
        await made.session.close()
        await client.close()


async def test_each_kind_of_provider_fault_is_classified_and_nothing_is_sent_twice(
    rig: Rig, provider: FaultyAliyun
) -> None:
    """5xx retries; timeout and reset are kept as 'outcome unknown', not resent; slow is sent."""
    dispatcher = rig.wire(provider, DispatchSettings(concurrency={"sms": 1}))
    now = rig.clock.now()
    mobiles = [f"1380000000{i}" for i in range(4)]
    await put(
        dispatcher.pool,
        [notice(f"f{i}", (SMS, m), not_before=now) for i, m in enumerate(mobiles)],
        now=now,
        vault=dispatcher.vault,
    )
    provider.queue("unavailable", "hang", "reset", "slow:0.1")
    await rig.advance(1)
    five_xx, hang, reset, slow = await rig.messages()
    assert (five_xx["status"], five_xx["attempt_log"][0]["outcome"]) == ("failed", "transient")
    assert five_xx["not_before"] == "2026-03-02T09:00:16+08:00"  # 0.5 · 30 s, full jitter
    for unsure in (hang, reset):
        assert unsure["status"] == "sent"
        assert unsure["error"].startswith("outcome unknown, not resent: aliyun:")
        assert unsure["attempt_log"][0]["outcome"] == "unknown"
    assert hang["error"].endswith("no answer within 0.3 s")
    assert (slow["status"], slow["error"]) == ("sent", None)
    await rig.advance(14)  # the backoff has not ended: nothing is tried
    assert provider.hits == 4
    await rig.advance(1)
    log = await rig.messages()
    assert [m["status"] for m in log] == ["sent"] * 4
    assert [m["attempts"] for m in log] == [2, 1, 1, 1]
    # The provider's side: 5 requests, 2 accepted (slow, then the retry); hang and reset
    # may have gone out, and were not sent again.
    assert provider.hits == 5
    assert Counter(r["PhoneNumbers"] for r in provider.requests) == Counter(
        {mobiles[3]: 1, mobiles[0]: 1}
    )
    await rig.advance(3 * 3600)
    assert provider.hits == 5


async def test_minutes_of_outage_open_the_circuit_dead_letter_and_fall_back(
    rig: Rig, provider: FaultyAliyun
) -> None:
    """A provider down for minutes: retries with backoff, the circuit opens, messages die after
    max_attempts into the WAP fallback; after recovery the probe closes the circuit."""
    settings = DispatchSettings(
        concurrency={"sms": 1},
        circuit_threshold=3,
        circuit_open_seconds=60,
        backoff_base_seconds=30,
    )
    dispatcher = rig.wire(provider, settings)
    now = rig.clock.now()
    total = 6
    await put(
        dispatcher.pool,
        [
            notice(f"m{i}", (SMS, f"1390000000{i}"), (WAP, f"p-m{i}"), not_before=now)
            for i in range(total)
        ],
        now=now,
        vault=dispatcher.vault,
        max_attempts=3,
    )
    provider.down = True
    for _ in range(40):  # 20 minutes of outage, every 30 s
        await rig.advance(30)
    log = await rig.messages()
    sms = [m for m in log if m["channel"] == "sms"]
    wap = [m for m in log if m["channel"] == "wap"]
    assert [m["status"] for m in sms] == ["dead"] * total
    assert {m["error"] for m in sms} == {"gave up after 3 attempts: aliyun: HTTP 503"}
    assert all([a["outcome"] for a in m["attempt_log"]] == ["transient"] * 3 for m in sms)
    # Every attempt in the log reached the provider, and every provider hit is in the log.
    assert provider.hits == sum(m["attempts"] for m in sms) == 3 * total
    assert provider.requests == []
    # The fallback: each mandatory notice reached the person's WAP inbox, once.
    assert sorted(m["person_id"] for m in wap) == sorted(f"p-m{i}" for i in range(total))
    assert [m["status"] for m in wap] == ["delivered"] * total
    breaker = dispatcher.breaker("aliyun")
    assert breaker.open_until is not None  # the last failures left it open

    provider.down = False
    later = rig.clock.now()
    await put(
        dispatcher.pool,
        [notice("after", (SMS, "13900000099"), kind=NoticeKind.URGE, not_before=later)],
        now=later,
        vault=dispatcher.vault,
    )
    await rig.advance(61)  # past the open window: the probe goes out and succeeds
    (after,) = [m for m in await rig.messages() if m["person_id"] == "p-after"]
    assert (after["status"], after["attempts"]) == ("sent", 1)
    assert breaker.open_until is None and breaker.failures == 0
    assert len(provider.requests) == 1
    print(f"outage: {provider.hits} provider hits, {total} dead letters, {len(wap)} WAP fallbacks")
