"""WeCom's per-member limits (30 a minute) against the loopback fake WeCom."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import ChannelsSettings, Settings, WecomSettings
from tests.conftest import Api
from tests.fakes.weixin import FakeWeCom

CORP, SECRET, AGENT = "ww-corp", "wecom-secret", 1000002
USER = "zhangwei"


@pytest.fixture
async def wecom() -> AsyncIterator[FakeWeCom]:
    fake = FakeWeCom(corp_id=CORP, corp_secret=SECRET, agent_id=AGENT, users={USER, "lina"})
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def hub(
    settings: Settings, clock: ManualClock, database_url: str, wecom: FakeWeCom
) -> AsyncIterator[tuple[Api, web.Application]]:
    channels = ChannelsSettings(
        wecom=WecomSettings(
            enabled=True,
            api_base=wecom.url,
            corp_id=CORP,
            corp_secret=SecretStr(SECRET),
            agent_id=AGENT,
        )
    )
    app = create_app(
        settings.model_copy(update={"channels": channels}), clock=clock, database_url=database_url
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client), app
    finally:
        await client.close()


async def queue_urges(database_url: str, n: int, *, at: datetime, user: str = USER) -> None:
    """``n`` WeCom urges to ``user``, all due at ``at`` (as the planner would queue them)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            """
            INSERT INTO messages (dedupe_key, kind, channel, person_id, recipient, case_no,
                                  subject, body, link, mandatory, not_before, max_attempts,
                                  created_at, updated_at)
            VALUES ($1, 'urge', 'wecom', $2, $2, $3, $4, '请尽快办理', $5, true, $6, 8, $6, $6)
            """,
            [
                (
                    f"urge-{user}-{i}",
                    user,
                    f"C-{i}",
                    f"催办：C-{i} 审查",
                    f"https://zw.example.gov.cn/wap/c/{i}",
                    at,
                )
                for i in range(n)
            ],
        )
    finally:
        await conn.close()


async def rows(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch("SELECT * FROM messages ORDER BY id")
    finally:
        await conn.close()


async def test_beyond_30_a_minute_the_rest_wait_and_go_as_one_digest_card(
    hub: tuple[Api, web.Application], wecom: FakeWeCom, clock: ManualClock, database_url: str
) -> None:
    """35 urges due at once: 30 go now, the other 5 wait for the window and go as one card."""
    api, _ = hub
    start = clock.now()
    await queue_urges(database_url, 35, at=start)
    await api.post("/v1/test-clock/advance", {"by": "PT1S"})
    assert len(wecom.requests) == 30
    log = await rows(database_url)
    waiting = [r for r in log if r["status"] == "queued"]
    assert len(waiting) == 5
    [leader] = [r for r in waiting if r["batched_into"] is None]
    assert leader["error_code"] == "wecom_member_limit"
    # The first slot (taken at start, when the urges fell due) ages out a minute later.
    assert leader["not_before"] == start + timedelta(minutes=1)
    assert {r["batched_into"] for r in waiting if r is not leader} == {leader["id"]}
    assert all(r["attempts"] == 0 for r in waiting)  # waiting is not a failed attempt

    await api.post("/v1/test-clock/advance", {"by": "PT58S"})
    assert len(wecom.requests) == 30
    await api.post("/v1/test-clock/advance", {"by": "PT1S"})
    assert len(wecom.requests) == 31
    card = wecom.requests[-1]["textcard"]
    assert card["title"] == "您有5条新通知"
    assert card["description"].count("催办：") == 5
    log = await rows(database_url)
    assert [r["status"] for r in log] == ["sent"] * 35
    msgids = {r["provider_message_id"] for r in log if r["id"] in {w["id"] for w in waiting}}
    assert msgids == {wecom.requests[-1]["msgid"]}


async def test_no_minute_ever_carries_more_than_30_sends_to_one_member(
    hub: tuple[Api, web.Application], wecom: FakeWeCom, clock: ManualClock, database_url: str
) -> None:
    """Urges arriving in waves over three minutes never put more than 30 sends in a minute."""
    api, _ = hub
    for wave in range(6):
        conn = await asyncpg.connect(database_url)
        try:
            await conn.executemany(
                "INSERT INTO messages (dedupe_key, kind, channel, person_id, recipient, subject,"
                " body, link, mandatory, not_before, max_attempts, created_at, updated_at)"
                " VALUES ($1, 'urge', 'wecom', $2, $2, '催办', '请办理', 'https://x.cn/', false,"
                " $3, 8, $3, $3)",
                [(f"w{wave}-{i}", USER, clock.now()) for i in range(20)],
            )
        finally:
            await conn.close()
        await api.post("/v1/test-clock/advance", {"by": "PT30S"})
    for _ in range(12):  # let everything drain
        await api.post("/v1/test-clock/advance", {"by": "PT30S"})
    log = await rows(database_url)
    # One request per card: rows merged into a digest card share its msgid and instant.
    sent_at = [at for _, at in {(r["provider_message_id"], r["sent_at"]) for r in log}]
    assert len(sent_at) == len(wecom.requests)
    for t in sent_at:
        assert sum(1 for u in sent_at if t - timedelta(minutes=1) < u <= t) <= 30
    assert {r["status"] for r in log} == {"sent"}  # 120 queued, none lost
    assert len(log) == 120
    assert len(wecom.requests) < 120  # some went merged into digest cards


async def test_other_members_are_not_held_back(
    hub: tuple[Api, web.Application], wecom: FakeWeCom, database_url: str, clock: ManualClock
) -> None:
    """One member at the limit does not delay another member's messages."""
    api, _ = hub
    await queue_urges(database_url, 31, at=clock.now())
    await queue_urges(database_url, 3, at=clock.now(), user="lina")
    await api.post("/v1/test-clock/advance", {"by": "PT1S"})
    to = [r["touser"] for r in wecom.requests]
    assert to.count(USER) == 30 and to.count("lina") == 3


async def test_at_1000_sends_in_an_hour_a_member_waits_for_the_oldest_to_age_out(
    hub: tuple[Api, web.Application], wecom: FakeWeCom, clock: ManualClock, database_url: str
) -> None:
    """After 1000 sends within the hour, the next waits until the oldest is an hour old."""
    api, _ = hub
    start = clock.now()
    oldest = start - timedelta(minutes=55)
    conn = await asyncpg.connect(database_url)
    try:
        # 1000 earlier sends, three seconds apart: none in the last minute, all in the hour.
        await conn.executemany(
            """
            INSERT INTO messages (dedupe_key, kind, channel, person_id, recipient, body,
                                  mandatory, status, not_before, max_attempts, attempts,
                                  limit_slot_at, sent_at, created_at, updated_at)
            VALUES ($1, 'urge', 'wecom', $2, $2, 'earlier', true, 'sent', $3, 8, 1,
                    $3, $3, $3, $3)
            """,
            [(f"earlier-{i}", USER, oldest + timedelta(seconds=3 * i)) for i in range(1000)],
        )
    finally:
        await conn.close()
    await queue_urges(database_url, 1, at=start)
    await api.post("/v1/test-clock/advance", {"by": "PT1M"})
    assert wecom.requests == []
    [held] = [r for r in await rows(database_url) if r["status"] != "sent"]
    assert held["error_code"] == "wecom_member_limit"
    assert held["not_before"] == oldest + timedelta(hours=1)
    assert held["attempts"] == 0

    await api.post("/v1/test-clock/advance", {"to": (oldest + timedelta(hours=1)).isoformat()})
    assert len(wecom.requests) == 1
    assert [r["status"] for r in await rows(database_url)] == ["sent"] * 1001
