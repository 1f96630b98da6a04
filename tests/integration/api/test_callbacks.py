"""Delivery-receipt callbacks: Aliyun and Tencent push formats, the token, idempotence, fallback.

Messages are put in the outbox with ``hub.notices.outbox.enqueue`` and marked sent the
way the dispatcher records a send; the receipts are POSTed exactly as the
providers push them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from core.notices import ChannelKind, NoticeKind
from hub.notices.outbox import Address, Notice, enqueue
from hub.notices.sealing import opened
from tests.conftest import START, Api

TOKEN = "change-me-too"  # the default auth.callback_token of the test settings
MOBILE = "13812345678"


async def sent_sms(
    api: Api,
    database_url: str,
    key: str,
    biz_id: str,
    *,
    kind: NoticeKind = NoticeKind.CASE_ACCEPTED,
    email: str | None = None,
) -> int:
    """An SMS in the log as the dispatcher leaves it after Aliyun said OK; returns its id."""
    addresses = [Address(channel=ChannelKind.SMS, recipient=MOBILE)]
    if email:
        addresses.append(Address(channel=ChannelKind.EMAIL, recipient=email))
    context = {
        "case_no": "C-1",
        "matter": "食品经营许可",
        "query_code": "123456",
        "due_date": "2026-03-30",
        "link": "https://zw.gov.cn/c/1",
    }
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await enqueue(
                conn,
                [
                    Notice(
                        kind=kind,
                        dedupe_key=key,
                        addresses=addresses,
                        context=context,
                        not_before=START,
                        case_no="C-1",
                    )
                ],
                now=START,
                max_attempts=8,
                vault=api.vault,
            )
        message_id: int = await conn.fetchval(
            "UPDATE messages SET status = 'sent', attempts = 1, provider = 'aliyun',"
            " provider_message_id = $2, sent_at = $3"
            " WHERE dedupe_key = $1 || '|sms' RETURNING id",
            key,
            biz_id,
            START,
        )
    finally:
        await conn.close()
    return message_id


async def rows(api: Api, database_url: str) -> list[dict[str, Any]]:
    """The message log's rows, recipients opened with the app's key."""
    conn = await asyncpg.connect(database_url)
    try:
        found = await conn.fetch(
            "SELECT id, kind, channel, recipient, status, error_code, delivered_at, note,"
            " not_before, sealed FROM messages ORDER BY id"
        )
    finally:
        await conn.close()
    return [opened(api.vault, r) for r in found]


def aliyun_report(biz_id: str, out_id: int | None, *, success: bool, code: str) -> dict[str, Any]:
    """One item of Aliyun's SmsReport push, as documented."""
    return {
        "phone_number": MOBILE,
        "send_time": "2026-03-02 09:00:01",
        "report_time": "2026-03-02 09:00:05",
        "success": success,
        "err_code": code,
        "err_msg": "用户接收成功" if success else "空号",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": str(out_id) if out_id is not None else "",
    }


async def push(api: Api, path: str, body: Any, token: str | None = TOKEN) -> tuple[int, Any]:
    url = path if token is None else f"{path}?token={token}"
    resp = await api.client.post(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    return resp.status, await resp.json(content_type=None)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/callbacks/sms/aliyun/report",
        "/v1/callbacks/sms/aliyun/up",
        "/v1/callbacks/sms/tencent/status",
        "/v1/callbacks/sms/tencent/reply",
    ],
)
@pytest.mark.parametrize("token", [None, "", "wrong-token", TOKEN + "x"])
async def test_a_callback_without_the_right_token_is_refused_and_changes_nothing(
    api: Api, database_url: str, path: str, token: str | None
) -> None:
    """A missing or wrong ?token= gets 403 problem+json and leaves every table as it was."""
    message_id = await sent_sms(api, database_url, "t1", "900001^0")
    before = await rows(api, database_url)
    body: Any = [aliyun_report("900001^0", message_id, success=True, code="DELIVERED")]
    if path.endswith("reply"):
        body = {"mobile": MOBILE, "nationcode": "86", "text": "TD", "sign": "", "time": 1}
    elif path.endswith("up"):
        body = [{"phone_number": MOBILE, "content": "TD", "sequence_id": 1, "send_time": ""}]
    resp = await api.client.post(
        path if token is None else f"{path}?token={token}", data=json.dumps(body)
    )
    assert resp.status == 403
    assert resp.content_type == "application/problem+json"
    assert await rows(api, database_url) == before
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM inbound_sms") == 0
        assert await conn.fetchval("SELECT count(*) FROM opt_outs") == 0
    finally:
        await conn.close()


async def test_an_aliyun_delivery_report_marks_the_message_delivered(
    api: Api, database_url: str
) -> None:
    """A successful SmsReport item, matched by BizId, moves the SMS to delivered at report_time."""
    message_id = await sent_sms(api, database_url, "d1", "900002^0")
    status, body = await push(
        api,
        "/v1/callbacks/sms/aliyun/report",
        [aliyun_report("900002^0", message_id, success=True, code="DELIVERED")],
    )
    assert (status, body) == (200, {"code": 0, "msg": "成功"})
    [row] = await rows(api, database_url)
    assert row["status"] == "delivered"
    assert row["delivered_at"] == datetime.fromisoformat("2026-03-02T09:00:05+08:00")
    _, log = await api.get("/v1/messages?case_no=C-1&status=delivered")
    assert [m["id"] for m in log["items"]] == [message_id]


async def test_a_report_is_matched_by_out_id_when_the_biz_id_is_not_yet_known(
    api: Api, database_url: str
) -> None:
    """Aliyun echoes OutId (our message id): a report still finds the message by it."""
    message_id = await sent_sms(api, database_url, "o1", "unused")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE messages SET provider_message_id = NULL")
    finally:
        await conn.close()
    status, _ = await push(
        api,
        "/v1/callbacks/sms/aliyun/report",
        [aliyun_report("900003^0", message_id, success=True, code="DELIVERED")],
    )
    assert status == 200
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT status, provider_message_id FROM messages")
    finally:
        await conn.close()
    assert (row["status"], row["provider_message_id"]) == ("delivered", "900003^0")


async def test_an_undelivered_mandatory_sms_fails_and_falls_back_once(
    api: Api, database_url: str
) -> None:
    """An undelivered receipt leaves the SMS failed with the carrier code, parked, and queues
    the notice on the next channel — once, however often Aliyun pushes the report."""
    message_id = await sent_sms(api, database_url, "f1", "900004^0", email="zhang@example.cn")
    report = [aliyun_report("900004^0", message_id, success=False, code="MK:0001")]
    for _ in range(3):  # Aliyun retries a push it thinks failed: the same effect each time
        status, body = await push(api, "/v1/callbacks/sms/aliyun/report", report)
        assert (status, body) == (200, {"code": 0, "msg": "成功"})
    sms, email = await rows(api, database_url)
    assert (sms["status"], sms["error_code"]) == ("failed", "MK:0001")
    assert sms["not_before"] == datetime.fromisoformat("9999-01-01T00:00:00+00:00")  # parked
    assert (email["channel"], email["recipient"], email["status"]) == (
        "email",
        "zhang@example.cn",
        "queued",
    )
    assert f"fallback after sms #{message_id}: undelivered (carrier code MK:0001)" in email["note"]
    status, log = await api.get("/v1/messages?case_no=C-1&status=failed")
    assert status == 200
    assert [(m["id"], m["error_code"]) for m in log["items"]] == [(message_id, "MK:0001")]


async def test_an_undelivered_optional_sms_is_not_chased(api: Api, database_url: str) -> None:
    """An optional notice (evaluation prompt) that did not arrive fails without a fallback."""
    message_id = await sent_sms(
        api, database_url, "e1", "900005^0", kind=NoticeKind.EVALUATION_PROMPT, email="z@example.cn"
    )
    await push(
        api,
        "/v1/callbacks/sms/aliyun/report",
        [aliyun_report("900005^0", message_id, success=False, code="IC:0015")],
    )
    assert [(r["channel"], r["status"]) for r in await rows(api, database_url)] == [
        ("sms", "failed")
    ]


async def test_a_late_failure_report_does_not_undo_a_delivery(api: Api, database_url: str) -> None:
    """Once delivered, a message stays delivered whatever report comes after."""
    message_id = await sent_sms(api, database_url, "l1", "900006^0", email="z@example.cn")
    for success, code in [(True, "DELIVERED"), (False, "MK:0001")]:
        await push(
            api,
            "/v1/callbacks/sms/aliyun/report",
            [aliyun_report("900006^0", message_id, success=success, code=code)],
        )
    assert [(r["channel"], r["status"]) for r in await rows(api, database_url)] == [
        ("sms", "delivered")
    ]


async def test_unknown_ids_are_acknowledged_so_the_provider_stops(
    api: Api, database_url: str
) -> None:
    """A report for no message of ours is answered with the ack and changes nothing."""
    message_id = await sent_sms(api, database_url, "u1", "900007^0")
    before = await rows(api, database_url)
    status, body = await push(
        api,
        "/v1/callbacks/sms/aliyun/report",
        [aliyun_report("123456^0", None, success=True, code="DELIVERED")],
    )
    assert (status, body) == (200, {"code": 0, "msg": "成功"})
    # Our id echoed for a message to another number is not ours to settle either.
    other = aliyun_report("123457^0", message_id, success=True, code="DELIVERED")
    other["phone_number"] = "13900000000"
    assert (await push(api, "/v1/callbacks/sms/aliyun/report", [other]))[0] == 200
    assert await rows(api, database_url) == before


async def test_a_report_overtaking_the_send_record_is_pushed_again(
    api: Api, database_url: str
) -> None:
    """While our row is still 'sending', Aliyun is told to retry; the retry then applies."""
    message_id = await sent_sms(api, database_url, "s1", "unused")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE messages SET status = 'sending', provider_message_id = NULL")
        report = [aliyun_report("900008^0", message_id, success=True, code="DELIVERED")]
        status, body = await push(api, "/v1/callbacks/sms/aliyun/report", report)
        assert (status, body["code"]) == (200, 1)
        assert await conn.fetchval("SELECT status FROM messages") == "sending"
        await conn.execute("UPDATE messages SET status = 'sent', provider_message_id = '900008^0'")
        status, body = await push(api, "/v1/callbacks/sms/aliyun/report", report)
        assert body == {"code": 0, "msg": "成功"}
        assert await conn.fetchval("SELECT status FROM messages") == "delivered"
    finally:
        await conn.close()


async def test_tencent_status_callbacks_settle_by_serial_no(api: Api, database_url: str) -> None:
    """Tencent's status array (sid = SerialNo) delivers one message and fails another."""
    ok = await sent_sms(api, database_url, "tc1", "2019:6789^0")
    bad = await sent_sms(api, database_url, "tc2", "2019:6790^0", email="z@example.cn")
    body = [
        {
            "user_receive_time": "2026-03-02 09:00:07",
            "nationcode": "86",
            "mobile": MOBILE,
            "report_status": "SUCCESS",
            "errmsg": "DELIVRD",
            "description": "用户短信送达成功",
            "sid": "2019:6789^0",
        },
        {
            "user_receive_time": "2026-03-02 09:00:08",
            "nationcode": "86",
            "mobile": MOBILE,
            "report_status": "FAIL",
            "errmsg": "MN:0001",
            "description": "空号",
            "sid": "2019:6790^0",
        },
    ]
    status, answer = await push(api, "/v1/callbacks/sms/tencent/status", body)
    assert (status, answer) == (200, {"result": 0, "errmsg": "OK"})
    by_id = {r["id"]: r for r in await rows(api, database_url)}
    assert by_id[ok]["status"] == "delivered"
    assert (by_id[bad]["status"], by_id[bad]["error_code"]) == ("failed", "MN:0001")
    assert [r["channel"] for r in by_id.values()] == ["sms", "sms", "email"]


async def test_a_malformed_push_is_a_422_not_a_crash(api: Api, database_url: str) -> None:
    """A body that is not the provider's format is refused with a problem, never a 5xx."""
    for body in [b"not json", b'{"biz_id": 1}', b"[1, 2]"]:
        resp = await api.client.post(f"/v1/callbacks/sms/aliyun/report?token={TOKEN}", data=body)
        assert resp.status == 422
    resp = await api.client.post(f"/v1/callbacks/sms/aliyun/up?token={TOKEN}", data=b"\xff")
    assert resp.status == 400
