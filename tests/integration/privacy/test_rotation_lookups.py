"""Lookups by blind index in the middle of a key rotation (decision 0016).

After the key change every process queues and stores under the new key, while
``cuiban keys rotate`` has re-indexed only part of the rows. Each test writes rows
with a hub on the old key, stops a rotation after its first batch, and then asks a hub
on the new key (the old one previous) the question that used to miss the rows not
re-indexed yet: is this number opted out (the SQL trigger), how many WeCom messages has
this member had in the last minute, has this Tencent reply been stored already.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from hub.app import create_app
from hub.clock import ManualClock
from hub.keys import POOL
from hub.privacy.fields import SEALED_COLUMNS, SealedColumn, address_index, mobile_index
from hub.privacy.rotate import Progress, rotate_keys
from hub.privacy.vault import DataKey, Vault
from hub.settings import ChannelsSettings, Settings, WecomSettings
from tests.conftest import START, Api
from tests.fakes.weixin import FakeWeCom
from tests.integration import events as ev

OLD = "31" * 32
NEW = "42" * 32
OLD_VAULT = Vault(DataKey.from_hex(OLD))
NEW_VAULT = Vault(DataKey.from_hex(NEW))
ROTATING = Vault(DataKey.from_hex(NEW), [DataKey.from_hex(OLD)])
TOKEN = "change-me-too"
MOBILES = ("13800000001", "13800000002", "13800000003", "13800000004")
CORP, SECRET, AGENT = "ww-corp", "wecom-secret", 1000002
USER = "zhangwei"


class _Stopped(Exception):
    """The rotation stopped on purpose after its first batch."""


def _column(table: str, column: str) -> SealedColumn:
    return next(c for c in SEALED_COLUMNS if (c.table, c.column) == (table, column))


async def _rotate_first_batch(app: web.Application, column: SealedColumn, batch: int) -> None:
    """Run `cuiban keys rotate` over ``column`` until its first batch is committed, then stop
    it, as a crash would: the rest of the rows keep the old key's index."""

    def stop(progress: Progress) -> None:
        if progress.scanned:
            raise _Stopped

    with pytest.raises(_Stopped):
        await rotate_keys(
            app[POOL], ROTATING, now=lambda: START, batch=batch, report=stop, columns=(column,)
        )


def _with_keys(settings: Settings, current: str, *previous: str) -> Settings:
    privacy = settings.privacy.model_copy(
        update={"data_key": SecretStr(current), "previous_keys": [SecretStr(k) for k in previous]}
    )
    return settings.model_copy(update={"privacy": privacy})


@contextlib.asynccontextmanager
async def _hub(settings: Settings, clock: ManualClock, database_url: str) -> AsyncIterator[Api]:
    client = TestClient(TestServer(create_app(settings, clock=clock, database_url=database_url)))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


async def _fetch(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _aliyun_text(api: Api, mobile: str, content: str, sequence: int) -> None:
    body = [
        {
            "phone_number": mobile,
            "send_time": "2026-03-02 10:00:00",
            "content": content,
            "sign_name": "某市政务服务中心",
            "dest_code": "1234",
            "sequence_id": sequence,
        }
    ]
    resp = await api.client.post(
        f"/v1/callbacks/sms/aliyun/up?token={TOKEN}",
        data=json.dumps(body, ensure_ascii=False).encode(),
    )
    assert resp.status == 200


async def test_the_opt_out_filter_matches_opt_outs_the_rotation_has_not_reached(
    settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """TD under the old key, half the opt-outs re-indexed: every evaluation prompt the hub
    on the new key queues to those numbers is still cancelled as opted out."""
    async with _hub(_with_keys(settings, OLD), clock, database_url) as api:
        events = []
        for n, mobile in enumerate(MOBILES):
            applicant = {"name": "张三丰", "mobile": mobile}
            case_no = f"OT-{n}"
            events += [
                ev.accepted(case_no, "2026-03-02T09:00:00+08:00", applicant=applicant),
                ev.simple(
                    "case.ready_for_pickup",
                    case_no,
                    "2026-03-02T09:20:00+08:00",
                    location="3号窗口",
                ),
            ]
        assert (await api.post("/v1/events", {"events": events}))[0] == 202
        for n, mobile in enumerate(MOBILES):
            await _aliyun_text(api, mobile, "TD", sequence=100 + n)

    async with _hub(_with_keys(settings, NEW, OLD), clock, database_url) as api:
        await _rotate_first_batch(api.client.server.app, _column("opt_outs", "mobile"), 2)
        stored = await _fetch(database_url, "SELECT mobile_index FROM opt_outs ORDER BY id")
        under = [
            "new"
            if bytes(r["mobile_index"]) in {mobile_index(NEW_VAULT, m) for m in MOBILES}
            else "old"
            for r in stored
        ]
        assert under == ["new", "new", "old", "old"]  # mid-rotation

        picked = [
            ev.simple("case.picked_up", f"OT-{n}", "2026-03-02T09:30:00+08:00")
            for n in range(len(MOBILES))
        ]
        assert (await api.post("/v1/events", {"events": picked}))[0] == 202
        status, _ = await api.post("/v1/test-clock/advance", {"to": "2026-03-02T11:00:00+08:00"})
        assert status == 200
    prompts = await _fetch(
        database_url,
        "SELECT status, error_code FROM messages WHERE kind = 'evaluation_prompt'",
    )
    assert [(r["status"], r["error_code"]) for r in prompts] == [("cancelled", "opted_out")] * 4


async def test_the_wecom_member_limit_counts_messages_the_rotation_has_not_reached(
    settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """30 WeCom sends to a member this minute under the old key, 10 of them re-indexed: the
    31st waits for the window instead of going out (WeCom would drop it)."""
    fake = FakeWeCom(corp_id=CORP, corp_secret=SECRET, agent_id=AGENT, users={USER})
    await fake.start()
    now = clock.now()
    conn = await asyncpg.connect(database_url)
    try:
        # Sent a moment ago, each holding a slot: the member is at WeCom's 30 a minute.
        # Stored as rows from before sealing (clear recipient) with the old key's index,
        # which the rotation seals and re-indexes like any row it has not reached.
        await conn.executemany(
            """
            INSERT INTO messages (dedupe_key, kind, channel, person_id, recipient,
                                  recipient_index, case_no, subject, body, mandatory, status,
                                  not_before, max_attempts, created_at, updated_at, sent_at,
                                  limit_slot_at)
            VALUES ($1, 'urge', 'wecom', $2, $2, $3, $4, $5, '请尽快办理', true, 'sent',
                    $6, 8, $6, $6, $6, $6)
            """,
            [
                (
                    f"sent-{i}",
                    USER,
                    address_index(OLD_VAULT, "wecom", USER),
                    f"C-{i}",
                    f"催办：C-{i} 审查",
                    now - timedelta(seconds=20),
                )
                for i in range(30)
            ],
        )
        await conn.execute(
            """
            INSERT INTO messages (dedupe_key, kind, channel, person_id, recipient, case_no,
                                  subject, body, mandatory, not_before, max_attempts,
                                  created_at, updated_at)
            VALUES ('next', 'urge', 'wecom', $1, $1, 'C-31', '催办：C-31 审查', '请尽快办理',
                    true, $2, 8, $2, $2)
            """,
            USER,
            now,
        )
    finally:
        await conn.close()
    channels = ChannelsSettings(
        wecom=WecomSettings(
            enabled=True,
            api_base=fake.url,
            corp_id=CORP,
            corp_secret=SecretStr(SECRET),
            agent_id=AGENT,
        )
    )
    rotated = _with_keys(settings, NEW, OLD).model_copy(update={"channels": channels})
    try:
        async with _hub(rotated, clock, database_url) as api:
            # The rows were stored before sealing: the rotation walks their recipient column.
            recipient = _column("messages", "recipient")
            await _rotate_first_batch(api.client.server.app, recipient, 10)
            indexes = await _fetch(
                database_url, "SELECT recipient_index FROM messages WHERE status = 'sent'"
            )
            new = address_index(NEW_VAULT, "wecom", USER)
            assert sum(bytes(r["recipient_index"]) == new for r in indexes) == 10  # mid-rotation

            status, _ = await api.post("/v1/test-clock/advance", {"by": "PT1S"})
            assert status == 200
            assert fake.requests == []  # held: WeCom would have dropped it
            [waiting] = await _fetch(
                database_url, "SELECT status, error_code FROM messages WHERE dedupe_key = 'next'"
            )
            assert (waiting["status"], waiting["error_code"]) == ("queued", "wecom_member_limit")

            status, _ = await api.post("/v1/test-clock/advance", {"by": "PT40S"})
            assert len(fake.requests) == 1  # once the oldest slots aged out
    finally:
        await fake.close()


async def test_a_tencent_reply_retried_across_the_key_change_is_handled_once(
    settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """A CX reply stored under the old key and pushed again after the change: one text kept,
    one status reply queued."""
    push = {
        "extend": "",
        "mobile": MOBILES[0],
        "nationcode": "86",
        "sign": "某市政务服务中心",
        "text": "CX TR-1",
        "time": 1772416800,
    }
    async with _hub(_with_keys(settings, OLD), clock, database_url) as api:
        applicant = {"name": "张三丰", "mobile": MOBILES[0]}
        batch = [
            ev.accepted("TR-1", "2026-03-02T09:00:00+08:00", applicant=applicant),
            ev.node_started("TR-1", "n1", "2026-03-02T09:05:00+08:00"),
        ]
        assert (await api.post("/v1/events", {"events": batch}))[0] == 202
        resp = await api.client.post(f"/v1/callbacks/sms/tencent/reply?token={TOKEN}", json=push)
        assert resp.status == 200

    async with _hub(_with_keys(settings, NEW, OLD), clock, database_url) as api:
        await _rotate_first_batch(api.client.server.app, _column("inbound_sms", "mobile"), 1)
        resp = await api.client.post(f"/v1/callbacks/sms/tencent/reply?token={TOKEN}", json=push)
        assert (resp.status, await resp.json()) == (200, {"result": 0, "errmsg": "OK"})
        status, page = await api.get("/v1/inbound-sms")
        assert status == 200
        assert [(i["text"], i["handled_as"]) for i in page["items"]] == [
            ("CX TR-1", "status_query")
        ]
    replies = await _fetch(database_url, "SELECT id FROM messages WHERE kind = 'status_reply'")
    assert len(replies) == 1


async def test_opt_out_indexes_under_a_retired_key_go_once_the_rotation_is_done(
    settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """Each opt-out is indexed under both keys while both are configured; after the rotation
    finished and the old key left the configuration, only the new key's index is kept."""
    async with _hub(_with_keys(settings, OLD), clock, database_url) as api:
        await _aliyun_text(api, MOBILES[0], "TD", sequence=1)
    async with _hub(_with_keys(settings, NEW, OLD), clock, database_url) as api:
        result = await rotate_keys(api.client.server.app[POOL], ROTATING, now=lambda: START)
        assert result.finished
    kept = "SELECT key_id, mobile_index FROM opt_out_indexes ORDER BY key_id"
    both = {(r["key_id"], bytes(r["mobile_index"])) for r in await _fetch(database_url, kept)}
    assert both == {
        (OLD_VAULT.current.key_id, mobile_index(OLD_VAULT, MOBILES[0])),
        (NEW_VAULT.current.key_id, mobile_index(NEW_VAULT, MOBILES[0])),
    }
    async with _hub(_with_keys(settings, NEW), clock, database_url):
        pass
    left = {(r["key_id"], bytes(r["mobile_index"])) for r in await _fetch(database_url, kept)}
    assert left == {(NEW_VAULT.current.key_id, mobile_index(NEW_VAULT, MOBILES[0]))}
