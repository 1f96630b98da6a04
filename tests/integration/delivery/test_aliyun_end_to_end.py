"""Issue 5, tried as a new user would: ``channels.sms.provider = "aliyun"`` against the fake.

The settings come from a TOML file like a centre's; events go in through
``POST /v1/events``; the test clock drives the dispatcher; the fake Aliyun checks
every request's RPC signature; receipts and replies come back through the
callback routes in Aliyun's push format; e-mail goes to a real aiosmtpd server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import START, Api
from tests.fakes.aliyun import FakeAliyun
from tests.fakes.smtp import FakeSmtp
from tests.integration import events as ev
from tests.integration.centre import CALLBACK_TOKEN, accept_then_ready, centre_hub, sms_section

KEY_ID = "LTAI-e2e"
SECRET = "aliyun-e2e-secret"
SIGN = "某市政务服务中心"
TEMPLATES = {
    "case_accepted": "SMS_1001",
    "pickup_notice": "SMS_1002",
    "evaluation_prompt": "SMS_1003",
}
MOBILE = "13812345678"
EMAIL = "zhangsan@example.cn"


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
def smtp() -> Iterator[FakeSmtp]:
    fake = FakeSmtp().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
async def hub(
    tmp_path: Path, database_url: str, aliyun: FakeAliyun, smtp: FakeSmtp
) -> AsyncIterator[Api]:
    """The hub started from a centre's config file, Aliyun keys and template codes filled in."""
    keys = {
        "endpoint": aliyun.url,
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "sign_name": SIGN,
    }
    email = (
        f'[channels.email]\nenabled = true\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
    )
    extra = sms_section("aliyun", keys, TEMPLATES) + "\n" + email
    async with centre_hub(tmp_path, database_url, start=START, extra=extra) as api:
        yield api


async def push(api: Api, path: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    resp = await api.client.post(
        f"{path}?token={CALLBACK_TOKEN}", data=json.dumps(items, ensure_ascii=False).encode()
    )
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


def report(sent: dict[str, Any], *, success: bool, code: str) -> dict[str, Any]:
    """Aliyun's SmsReport item for a request the fake accepted."""
    return {
        "phone_number": sent["PhoneNumbers"],
        "send_time": "2026-03-02 09:01:00",
        "report_time": "2026-03-02 09:01:04",
        "success": success,
        "err_code": code,
        "err_msg": "用户接收成功" if success else "关机",
        "sms_size": "1",
        "biz_id": sent["BizId"],
        "out_id": sent["OutId"],
    }


async def messages(api: Api, case_no: str) -> list[dict[str, Any]]:
    status, page = await api.get(f"/v1/messages?case_no={case_no}")
    assert status == 200
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_acceptance_and_pickup_reach_aliyun_signed_and_receipts_settle_them(
    hub: Api, aliyun: FakeAliyun, smtp: FakeSmtp, database_url: str
) -> None:
    """Acceptance and pickup notices reach the fake signed, with their TemplateCode and
    TemplateParam; a delivery report marks one delivered; an undelivered report for the
    other sends it by e-mail; a reply '5' to the evaluation prompt rates the case."""
    applicant = {"name": "张三丰", "mobile": MOBILE, "email": EMAIL}
    await accept_then_ready(hub, "E2E-1", start=START, applicant=applicant)

    # What Aliyun received: the fake recomputed each HMAC-SHA1 signature and took it.
    assert [r["TemplateCode"] for r in aliyun.requests] == ["SMS_1001", "SMS_1002"]
    accepted, pickup = aliyun.requests
    assert {(r["PhoneNumbers"], r["SignName"]) for r in aliyun.requests} == {(MOBILE, SIGN)}
    assert accepted["TemplateParam"]["case_no"] == "E2E-1"
    assert accepted["TemplateParam"]["matter"] == "食品经营许可"
    assert set(accepted["TemplateParam"]) == {"matter", "case_no", "query_code", "promise", "link"}
    assert pickup["TemplateParam"]["location"] == "3号窗口"
    log = await messages(hub, "E2E-1")
    assert [(m["kind"], m["status"]) for m in log] == [
        ("case_accepted", "sent"),
        ("pickup_notice", "sent"),
    ]
    assert [m["provider_message_id"] for m in log] == [accepted["BizId"], pickup["BizId"]]
    assert [str(m["id"]) for m in log] == [accepted["OutId"], pickup["OutId"]]

    # Receipts: the acceptance SMS arrived; the pickup SMS did not (mandatory: e-mail next).
    ack = await push(
        hub,
        "/v1/callbacks/sms/aliyun/report",
        [
            report(accepted, success=True, code="DELIVERED"),
            report(pickup, success=False, code="MK:0005"),
        ],
    )
    assert ack == {"code": 0, "msg": "成功"}
    await hub.post("/v1/test-clock/advance", {"by": "PT1M"})
    log = await messages(hub, "E2E-1")
    assert [(m["kind"], m["channel"], m["status"], m["error_code"]) for m in log] == [
        ("case_accepted", "sms", "delivered", None),
        ("pickup_notice", "sms", "failed", "MK:0005"),
        ("pickup_notice", "email", "sent", None),
    ]
    assert log[0]["delivered_at"] == "2026-03-02T09:01:04+08:00"
    assert len(aliyun.requests) == 2  # the undelivered SMS is not sent again
    [mail] = smtp.requests
    assert mail["To"] == EMAIL
    assert "3号窗口" in mail.get_body(("plain",)).get_content()

    # Picked up: the evaluation prompt goes out an hour later; the applicant answers 5.
    await hub.post("/v1/events", ev.simple("case.picked_up", "E2E-1", "2026-03-02T09:05:00+08:00"))
    await hub.post("/v1/test-clock/advance", {"to": "2026-03-02T10:06:00+08:00"})
    assert aliyun.requests[-1]["TemplateCode"] == "SMS_1003"
    ack = await push(
        hub,
        "/v1/callbacks/sms/aliyun/up",
        [
            {
                "phone_number": MOBILE,
                "send_time": "2026-03-02 10:07:00",
                "content": "5",
                "sign_name": SIGN,
                "dest_code": "",
                "sequence_id": 7001,
            }
        ],
    )
    assert ack == {"code": 0, "msg": "成功"}
    _, case = await hub.get("/v1/cases/E2E-1")
    assert case["rating"] == 5
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT source FROM evaluations") == "sms"
    finally:
        await conn.close()


async def test_case_links_fit_aliyun_variable_limit(hub: Api, aliyun: FakeAliyun) -> None:
    """As configured out of the box, the acceptance SMS reaches Aliyun with a link that fits."""
    await hub.post("/v1/events", ev.accepted("E2E-2", START.isoformat()))
    await hub.post("/v1/test-clock/advance", {"by": "PT1M"})
    assert [r["TemplateCode"] for r in aliyun.requests] == ["SMS_1001"]
    link = aliyun.requests[0]["TemplateParam"]["link"]
    assert link.startswith("c/") and len(link) <= 35  # the template holds https://…/wap/
