"""Issue 10's "done when": 20,000 applicants through the Aliyun adapter (the loopback fake).

The hub runs from a centre's config file with ``provider = "aliyun"``; the fake checks
every request's signature and records it, so "sent exactly once" is counted where the
SMS would leave. The manual clock releases a slice of the broadcast per advance
(``not_before`` is spread at ``[broadcasts] rate_per_second``); a reviewer's reminder
falls due in the middle and must go out in the same advance, ahead of the slice.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import START, Api
from tests.fakes.aliyun import FakeAliyun
from tests.integration import events as ev
from tests.integration.broadcasts.test_service import seed_applicants
from tests.integration.centre import CALLBACK_TOKEN, centre_hub, sms_section

KEY_ID = "LTAI-bc"
SECRET = "aliyun-bc-secret"
SIGN = "某市政务服务中心"
TEMPLATES = {
    "case_accepted": "SMS_1001",
    "node_due_soon": "SMS_1004",
    "announcement": "SMS_3001",
}
APPLICANTS = 20_000
FIRST_MOBILE = 13600000000  # applicants are 13600000001 … 13600020000
RATE = 20  # per second: 20,000 rows take 1,000 s of the manual clock
STEP = timedelta(seconds=60)


@pytest.fixture
async def aliyun() -> AsyncIterator[FakeAliyun]:
    fake = await FakeAliyun(
        key_id=KEY_ID, secret=SECRET, sign_names={SIGN}, templates=set(TEMPLATES.values())
    ).start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def hub(tmp_path: Path, database_url: str, aliyun: FakeAliyun) -> AsyncIterator[Api]:
    """The hub from a config file: Aliyun, a provider rate raised so the test is fast."""
    keys = {
        "endpoint": aliyun.url,
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "sign_name": SIGN,
    }
    pacing = (
        "[dispatch]\nbatch_size = 400\n\n[dispatch.concurrency]\nsms = 64\n\n"
        f"[dispatch.rates]\naliyun = 1000000\n\n[broadcasts]\nrate_per_second = {RATE}\n"
    )
    extra = sms_section("aliyun", keys, TEMPLATES) + "\n" + pacing
    async with centre_hub(tmp_path, database_url, start=START, extra=extra) as api:
        yield api


def announcements(aliyun: FakeAliyun) -> list[str]:
    return [r["PhoneNumbers"] for r in aliyun.requests if r["TemplateCode"] == "SMS_3001"]


async def status_counts(database_url: str, broadcast_id: int) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT CASE WHEN error_code = 'opted_out' THEN 'skipped' ELSE status END AS s,"
            " count(*) AS n FROM messages WHERE broadcast_id = $1 GROUP BY 1",
            broadcast_id,
        )
    finally:
        await conn.close()
    return {r["s"]: r["n"] for r in rows}


async def advance_to(hub: Api, instant: datetime) -> None:
    status, _ = await hub.post("/v1/test-clock/advance", {"to": instant.isoformat()})
    assert status == 200


async def test_broadcast_to_20000_applicants_through_aliyun(
    hub: Api, aliyun: FakeAliyun, database_url: str
) -> None:
    """Every applicant is texted exactly once at the configured pace, opted-out numbers are
    skipped, progress matches the fake's count after every advance, a reminder due mid-way is
    sent in the same advance ahead of the slice, and a cancel halfway stops the rest."""
    began = time.monotonic()
    await seed_applicants(database_url, APPLICANTS, first_mobile=FIRST_MOBILE)
    opted = [str(FIRST_MOBILE + i) for i in range(2, APPLICANTS + 1, 200)]  # 100, all SC-101
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO opt_outs (mobile, at) VALUES ($1, $2)", [(m, START) for m in opted[1:]]
        )
    finally:
        await conn.close()
    # One of them opts out the public way: an SMS reply TD through Aliyun's upstream push.
    resp = await hub.client.post(
        f"/v1/callbacks/sms/aliyun/up?token={CALLBACK_TOKEN}",
        data=json.dumps(
            [
                {
                    "phone_number": opted[0],
                    "send_time": "2026-03-02 09:00:30",
                    "content": "TD",
                    "sign_name": SIGN,
                    "dest_code": "",
                    "sequence_id": 1,
                }
            ]
        ).encode(),
    )
    assert resp.status == 200

    # A reviewer with a 4-hour node: the due-soon reminder fires at 12:00 (75% used).
    await hub.put("/v1/people/p-li", {"name": "李四", "mobile": "13900001111", "channels": ["sms"]})
    await hub.post("/v1/events", ev.accepted("R-1", START.isoformat()))
    await hub.post(
        "/v1/events",
        ev.node_started("R-1", "n1", START.isoformat(), limit=None)
        | {"limit": {"value": 4, "unit": "hours"}},
    )
    send_at = datetime.fromisoformat("2026-03-02T11:55:00+08:00")
    await advance_to(hub, send_at - STEP)
    assert [r["TemplateCode"] for r in aliyun.requests] == ["SMS_1001"]  # R-1's acceptance

    status, preview = await hub.post(
        "/v1/broadcasts?dry_run=true",
        {
            "title": "台风停办",
            "content": "请网上办理",
            "audience": {"applicants": {}},
            "send_at": send_at.isoformat(),
        },
    )
    assert status == 200
    audience = APPLICANTS + 1  # and R-1's applicant
    assert preview["recipients"] == {"sms": audience - len(opted)}
    assert preview["skipped"] == {"opted_out": len(opted)}
    assert preview["warnings"] == []

    status, view = await hub.post(
        "/v1/broadcasts",
        {
            "title": "台风停办",
            "content": "请网上办理",
            "audience": {"applicants": {}},
            "send_at": send_at.isoformat(),
            "key": "typhoon-1",
        },
    )
    assert status == 201, view
    bid = view["id"]
    assert view["counts"]["queued"] == audience - len(opted)
    assert view["counts"]["skipped"] == len(opted)
    planned_end = send_at + timedelta(seconds=(audience - len(opted) - 1) / RATE)
    assert datetime.fromisoformat(view["estimated_end"]) == planned_end

    reminder_at = datetime.fromisoformat("2026-03-02T12:00:00+08:00")
    reminder_lateness: timedelta | None = None
    now = send_at - STEP
    while True:
        before = len(aliyun.requests)
        now += STEP
        await advance_to(hub, now)
        released = aliyun.requests[before:]
        status, view = await hub.get(f"/v1/broadcasts/{bid}")
        assert status == 200
        sent = announcements(aliyun)
        # Progress is what the provider saw, and what the table holds, after every advance.
        assert view["counts"]["sent"] == len(sent)
        assert view["counts"] == {
            "queued": 0,
            "sending": 0,
            "sent": 0,
            "delivered": 0,
            "failed": 0,
            "dead": 0,
            "cancelled": 0,
            "skipped": 0,
            **await status_counts(database_url, bid),
        }
        # The slice released is the rate times the step (the first advance starts at 0 s).
        expected = min(
            int(STEP.total_seconds() * RATE) * ((now - send_at) // STEP) + 1, audience - len(opted)
        )
        assert len(sent) == expected
        due_soon = [i for i, r in enumerate(released) if r["TemplateCode"] == "SMS_1004"]
        if due_soon:
            # Sent at its own instant, first of what fell due with it: the announcements
            # released before it in this advance were due before 12:00.
            [index] = due_soon
            assert now == reminder_at
            conn = await asyncpg.connect(database_url)
            try:
                sent_at = await conn.fetchval(
                    "SELECT sent_at FROM messages WHERE id = $1",
                    int(released[index]["OutId"]),
                )
                ahead = await conn.fetchval(
                    "SELECT max(not_before) FROM messages WHERE id = ANY($1::bigint[])",
                    [int(r["OutId"]) for r in released[:index]],
                )
            finally:
                await conn.close()
            assert ahead is None or ahead < reminder_at
            reminder_lateness = sent_at - reminder_at
        if view["status"] == "done":
            break
        assert datetime.fromisoformat(view["estimated_end"]) == planned_end
    assert reminder_lateness == timedelta(0)
    texted = Counter(announcements(aliyun))
    assert len(texted) == audience - len(opted) and set(texted.values()) == {1}
    assert not set(opted) & set(texted)
    assert datetime.fromisoformat(view["finished_at"]) <= planned_end + STEP
    assert view["started_at"] == send_at.isoformat()

    # A second broadcast, to half of them, cancelled halfway: nothing more goes out.
    start2 = now + STEP
    status, second = await hub.post(
        "/v1/broadcasts",
        {
            "title": "恢复办理",
            "content": "明日起窗口恢复",
            "send_at": start2.isoformat(),
            "audience": {"applicants": {"matters": ["SC-101"]}},
        },
    )
    assert status == 201
    total2 = second["counts"]["queued"]
    assert total2 == APPLICANTS // 2 - len(opted) + 1  # even-numbered cases, and R-1
    await advance_to(hub, start2 + timedelta(seconds=total2 / RATE / 2))
    _, half = await hub.get(f"/v1/broadcasts/{second['id']}")
    sent_before_cancel = half["counts"]["sent"]
    assert 0.4 * total2 < sent_before_cancel < 0.6 * total2
    status, cancelled = await hub.post(f"/v1/broadcasts/{second['id']}/cancel", {})
    assert status == 200
    assert cancelled["cancelled_now"] == total2 - sent_before_cancel
    requests_at_cancel = len(aliyun.requests)
    await advance_to(hub, start2 + timedelta(hours=2))
    assert len(aliyun.requests) == requests_at_cancel
    _, after = await hub.get(f"/v1/broadcasts/{second['id']}")
    assert after["status"] == "cancelled"
    assert after["counts"]["sent"] == sent_before_cancel
    assert after["counts"]["cancelled"] == total2 - sent_before_cancel
    assert time.monotonic() - began < 90  # keep the suite quick (about 30 s here)
