"""``cuiban keys rotate``: every value re-sealed under the new key, resumable, lookups unbroken."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from hub.app import create_app
from hub.clock import ManualClock
from hub.keys import POOL
from hub.privacy.fields import (
    INBOUND_SMS_MOBILE,
    INBOUND_SMS_TEXT,
    MESSAGES_BODY,
    MESSAGES_PERSONAL,
    MESSAGES_RECIPIENT,
    WAP_SESSIONS_MOBILE,
    address_index,
    mobile_index,
)
from hub.privacy.rotate import rotate_keys
from hub.privacy.vault import DataKey, Vault
from hub.settings import Settings
from hub.store import db
from hub.store.queries import Q
from tests.conftest import START, SUPERVISOR_KEY, Api
from tests.integration import events as ev

OLD = "11" * 32
NEW = "22" * 32
OLD_VAULT = Vault(DataKey.from_hex(OLD))
NEW_ONLY = Vault(DataKey.from_hex(NEW))  # without the old key: proves nothing still needs it
MOBILES = ("13812345678", "13900001111", "13700002222")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The hub after the key change: the new key current, the old one previous."""
    privacy = settings.privacy.model_copy(
        update={"data_key": SecretStr(NEW), "previous_keys": [SecretStr(OLD)]}
    )
    return settings.model_copy(update={"privacy": privacy})


async def _seed(pool: asyncpg.Pool, count: int) -> None:
    """``count`` texts sealed under the old key, three stored before sealing, sessions."""
    async with pool.acquire() as conn:
        for n in range(count):
            mobile = MOBILES[n % len(MOBILES)]
            await conn.fetchval(
                Q["insert_inbound_sms"],
                "aliyun",
                f"seed-{n}",
                OLD_VAULT.seal(mobile, field=INBOUND_SMS_MOBILE),
                OLD_VAULT.seal(f"CX A-{n} 张三丰", field=INBOUND_SMS_TEXT),
                "",
                "",
                START,
                START,
                mobile_index(OLD_VAULT, mobile),
            )
        for n in range(3):  # rows from before the column was sealed: clear, no index
            await conn.execute(
                "INSERT INTO inbound_sms (provider, dedupe_key, mobile, text, sent_at,"
                " received_at) VALUES ('aliyun', $1, $2, 'TD', $3, $3)",
                f"legacy-{n}",
                MOBILES[0],
                START,
            )
        for n in range(7):
            await conn.execute(
                "INSERT INTO wap_sessions (sid_mac, mobile, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                f"sid-{n:03d}",
                OLD_VAULT.seal(MOBILES[1], field=WAP_SESSIONS_MOBILE),
                START,
                START + timedelta(hours=1),
            )


async def _assert_all_under_new_key(pool: asyncpg.Pool, count: int) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT mobile, text, mobile_index FROM inbound_sms")
        sessions = await conn.fetch("SELECT mobile FROM wap_sessions")
    assert len(rows) == count + 3
    for row in rows:
        mobile = NEW_ONLY.open(row["mobile"], field=INBOUND_SMS_MOBILE)
        assert mobile in MOBILES
        assert NEW_ONLY.open(row["text"], field=INBOUND_SMS_TEXT)
        assert bytes(row["mobile_index"]) == mobile_index(NEW_ONLY, mobile)
    assert [NEW_ONLY.open(s["mobile"], field=WAP_SESSIONS_MOBILE) for s in sessions] == [
        MOBILES[1]
    ] * 7


async def test_lookups_keep_finding_every_row_while_the_rotation_runs(
    api: Api, app: web.Application
) -> None:
    """GET /v1/inbound-sms?mobile= finds all of a number's texts before, during and after."""
    count = 240
    await _seed(app[POOL], count)
    expected = count // 3 + 3  # MOBILES[0]'s share, plus the clear rows

    async def found() -> int:
        status, page = await api.get(
            f"/v1/inbound-sms?mobile={MOBILES[0]}&limit=1000", key=SUPERVISOR_KEY
        )
        assert status == 200
        return len(page["items"])

    assert await found() == expected
    vault = Vault(DataKey.from_hex(NEW), [DataKey.from_hex(OLD)])
    seen: list[int] = []
    rotation = asyncio.create_task(
        rotate_keys(app[POOL], vault, now=lambda: START, batch=20, pause=0.01)
    )
    while not rotation.done():
        seen.append(await found())
    result = await rotation
    assert result.finished and result.resealed == 2 * (count + 3) + 7
    assert len(seen) >= 3 and set(seen) == {expected}  # the lookups ran while it did
    assert await found() == expected
    await _assert_all_under_new_key(app[POOL], count)


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "rotate.toml"
    path.write_text(
        f"""
[database]
url = "{database_url}"
data_dir = "{tmp_path / "data"}"

[privacy]
data_key = "{NEW}"
previous_keys = ["{OLD}"]
""",
        "utf-8",
    )
    return path


def _cuiban(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CUIBAN_CONFIG", None)
    return subprocess.Popen(  # noqa: S603 - our own CLI, arguments from this test
        [sys.executable, "-m", "hub.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


async def test_a_rotation_killed_mid_way_resumes_and_every_value_opens(
    tmp_path: Path, database_url: str
) -> None:
    """kill -9 during `cuiban keys rotate`, run it again: it goes on from its last batch,
    re-seals each value once, and every value opens with the new key alone."""
    count = 300
    pool = await db.create_pool(database_url, min_size=1, max_size=2)
    try:
        await _seed(pool, count)
        config = _config(tmp_path, database_url)
        first = _cuiban(
            "keys", "rotate", "--config", str(config), "--batch-size", "10", "--pause", "0.1"
        )
        assert first.stdout is not None
        lines = []
        while True:
            line = await asyncio.to_thread(first.stdout.readline)
            assert line, first.stderr.read() if first.stderr else "no output"
            lines.append(line)
            if line.startswith("inbound_sms.mobile: 60/"):
                break
        first.kill()  # SIGKILL: no cleanup, no last word
        first.communicate()
        assert lines[0].startswith(f"rotating to key {DataKey.from_hex(NEW).key_id}")
        async with pool.acquire() as conn:
            progress = await conn.fetchrow(
                "SELECT last_key, resealed, done FROM key_rotation_progress"
                " WHERE column_name = 'mobile' AND table_name = 'inbound_sms'"
            )
            under_old = await conn.fetchval(
                "SELECT count(*) FROM inbound_sms WHERE mobile LIKE $1",
                f"sm4:{DataKey.from_hex(OLD).key_id}:%",
            )
        assert progress is not None and not progress["done"]
        assert 60 <= progress["resealed"] < count
        assert 0 < under_old < count

        second = _cuiban("keys", "rotate", "--config", str(config))
        out, err = await asyncio.to_thread(second.communicate, timeout=120)
        assert second.returncode == 0, err
        assert "done:" in out and "privacy.previous_keys may now be emptied" in out
        await _assert_all_under_new_key(pool, count)
        async with pool.acquire() as conn:
            totals = dict(
                await conn.fetch(
                    "SELECT table_name || '.' || column_name, resealed FROM key_rotation_progress"
                )
            )
            finished = await conn.fetchval("SELECT finished_at IS NOT NULL FROM key_rotations")
        assert totals["inbound_sms.mobile"] == count + 3  # each value once, none twice
        assert totals["inbound_sms.text"] == count + 3
        assert totals["wap_sessions.mobile"] == 7
        assert finished

        status = _cuiban("keys", "status", "--config", str(config))
        out, err = await asyncio.to_thread(status.communicate, timeout=60)
        assert status.returncode == 0, err
        assert f"current key: {DataKey.from_hex(NEW).key_id}" in out and "finished" in out
    finally:
        await pool.close()


def _with_keys(settings: Settings, current: str, *previous: str) -> Settings:
    privacy = settings.privacy.model_copy(
        update={"data_key": SecretStr(current), "previous_keys": [SecretStr(k) for k in previous]}
    )
    return settings.model_copy(update={"privacy": privacy})


async def test_every_sealed_column_of_a_working_hub_rotates_and_reads_with_the_new_key_alone(
    settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """Cases, events, folds, people, messages and texts written under the old key are all
    re-sealed; a hub that knows only the new key reads and finds every one of them."""
    old_hub = create_app(_with_keys(settings, OLD), clock=clock, database_url=database_url)
    async with _client(old_hub) as api:
        await api.put("/v1/people/p-li", {"name": "李四", "mobile": "13900001111"})
        applicant = {"name": "张三丰", "mobile": "13812345678", "email": "zsf@example.cn"}
        batch = [
            ev.accepted("RK-1", "2026-03-02T09:00:00+08:00", applicant=applicant),
            ev.node_started("RK-1", "n1", "2026-03-02T09:05:00+08:00"),
        ]
        assert (await api.post("/v1/events", {"events": batch}))[0] == 202
        assert (await api.post("/v1/test-clock/advance", {"by": "PT1H"}))[0] == 200
    pool = await db.create_pool(database_url, min_size=1, max_size=2)
    try:
        result = await rotate_keys(
            pool, Vault(DataKey.from_hex(NEW), [DataKey.from_hex(OLD)]), now=lambda: START
        )
        assert result.finished and result.resealed > 0
        stale = await _values_under(pool, DataKey.from_hex(OLD).key_id)
        assert stale == {}, stale
    finally:
        await pool.close()

    new_hub = create_app(_with_keys(settings, NEW), clock=clock, database_url=database_url)
    async with _client(new_hub) as api:
        status, case = await api.get("/v1/cases/RK-1")
        assert status == 200 and case["applicant"]["name"] == "张*"
        _, sent = await api.get("/v1/messages?recipient=13812345678")
        assert sent["items"] and all("RK-1" in m["body"] for m in sent["items"])
        _, found = await api.get("/v1/privacy/subjects/13812345678")
        assert found["cases"][0]["applicant"]["email"] == "zsf@example.cn"
        assert found["cases"][0]["events"][0]["payload"]["applicant"]["name"] == "张三丰"
        _, official = await api.get("/v1/privacy/subjects/13900001111")
        assert official["people"] == [{"person_id": "p-li", "name": "李四"}]


async def test_a_message_sealed_column_by_column_rotates_where_it_is(
    settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """A message row of migration 0029 (recipient, body, personal sealed one column each)
    is re-sealed in place and re-indexed; the new-key hub finds it and reads its words."""
    old_hub = create_app(_with_keys(settings, OLD), clock=clock, database_url=database_url)
    async with _client(old_hub):
        pass  # the schema is migrated
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO messages (dedupe_key, kind, channel, recipient, recipient_index, body,"
            " personal, context, mandatory, not_before, max_attempts, created_at, updated_at)"
            " VALUES ('old|sms', 'pickup_notice', 'sms', $1, $2, $3, $4, '{}', true, now(), 8,"
            " now(), now())",
            OLD_VAULT.seal("13700000001", field=MESSAGES_RECIPIENT),
            address_index(OLD_VAULT, "sms", "13700000001"),
            OLD_VAULT.seal("请来领取证照", field=MESSAGES_BODY),
            OLD_VAULT.seal('{"context":{"query_code":"424242"}}', field=MESSAGES_PERSONAL),
        )
    finally:
        await conn.close()
    pool = await db.create_pool(database_url, min_size=1, max_size=2)
    try:
        vault = Vault(DataKey.from_hex(NEW), [DataKey.from_hex(OLD)])
        assert (await rotate_keys(pool, vault, now=lambda: START)).finished
        assert await _values_under(pool, DataKey.from_hex(OLD).key_id) == {}
    finally:
        await pool.close()
    new_hub = create_app(_with_keys(settings, NEW), clock=clock, database_url=database_url)
    async with _client(new_hub) as api:
        _, found = await api.get("/v1/messages?recipient=13700000001")
        assert [m["body"] for m in found["items"]] == ["请来领取证照"]


async def _values_under(pool: asyncpg.Pool, key_id: str) -> dict[str, int]:
    """How many values of each text or JSON column are still sealed under ``key_id``."""
    found = {}
    async with pool.acquire() as conn:
        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb')"
        )
        for table, column in columns:
            count = await conn.fetchval(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE $1',  # noqa: S608 - catalogue names
                f"%sm4:{key_id}:%",
            )
            if count:
                found[f"{table}.{column}"] = count
    return found


@contextlib.asynccontextmanager
async def _client(app: web.Application) -> AsyncIterator[Api]:
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()
