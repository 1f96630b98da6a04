"""Issue 5, tried as a new user would: ``channels.sms.provider = "tencent"`` against the fake.

Like the Aliyun end-to-end test: a centre's TOML file, events through
``POST /v1/events``, the test clock driving the dispatcher, a fake Tencent that
recomputes every TC3-HMAC-SHA256 signature, and status reports pushed back
through ``/v1/callbacks/sms/tencent/status`` in Tencent's format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from channels.render import sms_params
from tests.conftest import START, Api
from tests.fakes.tencent import FakeTencent
from tests.integration import events as ev
from tests.integration.centre import CALLBACK_TOKEN, accept_then_ready, centre_hub, sms_section

SECRET_ID = "AKID-e2e"
SECRET_KEY = "tencent-e2e-secret"
APP_ID = "1400000001"
SIGN = "某市政务服务中心"
TEMPLATES = {"case_accepted": "2001", "pickup_notice": "2002", "evaluation_prompt": "2003"}
MOBILE = "13812345678"


@pytest.fixture
async def tencent() -> AsyncIterator[FakeTencent]:
    fake = FakeTencent(
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        app_id=APP_ID,
        templates=set(TEMPLATES.values()),
        now=START.timestamp(),  # the fake's "now" for the signature's freshness check
    )
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def hub(tmp_path: Path, database_url: str, tencent: FakeTencent) -> AsyncIterator[Api]:
    """The hub started from a centre's config file, Tencent keys and template ids filled in."""
    keys = {
        "endpoint": tencent.url,
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "sdk_app_id": APP_ID,
        "sign_name": SIGN,
        "region": "ap-guangzhou",
    }
    extra = sms_section("tencent", keys, TEMPLATES)
    async with centre_hub(tmp_path, database_url, start=START, extra=extra) as api:
        yield api


def status_report(sent: dict[str, Any], *, success: bool, code: str) -> dict[str, Any]:
    """Tencent's status-callback item for a request the fake accepted."""
    return {
        "user_receive_time": "2026-03-02 09:02:05",
        "nationcode": "86",
        "mobile": sent["PhoneNumberSet"][0].removeprefix("+86"),
        "report_status": "SUCCESS" if success else "FAIL",
        "errmsg": code,
        "description": "用户短信送达成功" if success else "空号",
        "sid": sent["SerialNo"],
    }


async def messages(api: Api, case_no: str) -> list[dict[str, Any]]:
    status, page = await api.get(f"/v1/messages?case_no={case_no}")
    assert status == 200
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_acceptance_and_pickup_reach_tencent_signed_and_status_reports_settle_them(
    hub: Api, tencent: FakeTencent
) -> None:
    """Acceptance and pickup SMS reach the fake Tencent signed, with their TemplateId and
    parameters in template order; a SUCCESS report marks one delivered, a FAIL the other
    failed with the carrier's code, and it is not sent again."""
    await accept_then_ready(hub, "TC-1", start=START)

    # What Tencent received: the fake recomputed each TC3 signature and took it.
    assert [r["TemplateId"] for r in tencent.requests] == ["2001", "2002"]
    accepted, pickup = tencent.requests
    for request in tencent.requests:
        assert request["PhoneNumberSet"] == [f"+86{MOBILE}"]
        assert (request["SmsSdkAppId"], request["SignName"]) == (APP_ID, SIGN)
    params = dict(zip(sms_params("case_accepted"), accepted["TemplateParamSet"], strict=True))
    assert params["case_no"] == "TC-1" and params["matter"] == "食品经营许可"
    assert "3号窗口" in pickup["TemplateParamSet"]
    log = await messages(hub, "TC-1")
    assert [(m["kind"], m["status"], m["provider"]) for m in log] == [
        ("case_accepted", "sent", "tencent"),
        ("pickup_notice", "sent", "tencent"),
    ]
    assert [m["provider_message_id"] for m in log] == [accepted["SerialNo"], pickup["SerialNo"]]
    assert [str(m["id"]) for m in log] == [accepted["SessionContext"], pickup["SessionContext"]]

    resp = await hub.client.post(
        f"/v1/callbacks/sms/tencent/status?token={CALLBACK_TOKEN}",
        json=[
            status_report(accepted, success=True, code="DELIVRD"),
            status_report(pickup, success=False, code="MN:0001"),
        ],
    )
    assert resp.status == 200
    assert await resp.json() == {"result": 0, "errmsg": "OK"}
    await hub.post("/v1/test-clock/advance", {"by": "PT1M"})
    log = await messages(hub, "TC-1")
    assert [(m["kind"], m["status"], m["error_code"]) for m in log] == [
        ("case_accepted", "delivered", None),
        ("pickup_notice", "failed", "MN:0001"),
    ]
    assert log[0]["delivered_at"] == "2026-03-02T09:02:05+08:00"
    assert len(tencent.requests) == 2  # an undelivered SMS is not sent again blindly


async def test_a_status_push_without_the_token_changes_nothing(
    hub: Api, tencent: FakeTencent
) -> None:
    """A Tencent status push with a wrong token gets 403 and the message stays sent."""
    await hub.post("/v1/events", ev.accepted("TC-2", START.isoformat()))
    await hub.post("/v1/test-clock/advance", {"by": "PT1M"})
    [sent] = tencent.requests
    resp = await hub.client.post(
        "/v1/callbacks/sms/tencent/status?token=wrong",
        json=[status_report(sent, success=True, code="DELIVRD")],
    )
    assert resp.status == 403
    assert [m["status"] for m in await messages(hub, "TC-2")] == ["sent"]
