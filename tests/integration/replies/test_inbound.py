"""Applicants' SMS replies: ratings, CX status queries, TD opt-outs, YY pickup appointments.

Cases come in as events; the dispatcher (console SMS) sends what is due when the
test clock moves; texts are POSTed in Aliyun's SmsUp and Tencent's reply formats.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hub.notices.sealing import opened
from hub.privacy.fields import mobile_index
from hub.replies.inbound import Command, parse_command
from hub.replies.opt_outs import opted_out
from hub.settings import AppointmentSettings, Settings
from tests.conftest import SUPERVISOR_KEY, Api
from tests.conftest import _write_config as write_config
from tests.integration import events as ev

TOKEN = "change-me-too"
MOBILE = "13812345678"  # the applicant of every case built by events.accepted
OTHER = "13999999999"
_sequence = itertools.count(1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shared test settings with one booking per pickup slot."""
    from hub.settings import load_settings

    loaded = load_settings(write_config(tmp_path), environ={})
    return loaded.model_copy(update={"appointments": AppointmentSettings(capacity=1)})


async def text(api: Api, content: str, mobile: str = MOBILE, sequence: int | None = None) -> int:
    """Push one upstream SMS as Aliyun's SmsUp does; returns its sequence_id."""
    sequence = sequence or next(_sequence)
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
    assert await resp.json() == {"code": 0, "msg": "成功"}
    return sequence


async def advance(api: Api, to: str) -> None:
    status, _ = await api.post("/v1/test-clock/advance", {"to": to})
    assert status == 200


async def query(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def sealed_rows(api: Api, database_url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Messages rows as the hub reads them: recipient and body opened with its key."""
    return [opened(api.vault, r) for r in await query(database_url, sql, *args)]


async def inbound(api: Api) -> list[tuple[str, str, str | None]]:
    """The texts received, as an admin lists them (stored sealed, read back in clear)."""
    status, page = await api.get("/v1/inbound-sms?limit=1000")
    assert status == 200
    return [(i["text"], i["handled_as"], i["case_no"]) for i in page["items"]]


async def picked_up(api: Api, case_no: str, at: str) -> None:
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted(case_no, "2026-03-02T09:00:00+08:00"),
                ev.simple("case.picked_up", case_no, at),
            ]
        },
    )


def test_replies_are_read_in_half_and_full_width() -> None:
    """Commands are read after NFKC folding; anything unrecognised is 'other'."""
    assert parse_command(" ５ ") == Command(verb="number", number=5)
    assert parse_command("ｔｄ") == Command(verb="opt_out")
    assert parse_command("退订") == Command(verb="opt_out")
    assert parse_command("cx  NJ-2026-1") == Command(verb="query", case_no="NJ-2026-1")
    assert parse_command("ＹＹ NJ-2026-1") == Command(verb="book", case_no="NJ-2026-1")
    assert parse_command("10") == Command(verb="other")
    assert parse_command("我的证什么时候能拿") == Command(verb="other")


async def test_a_digit_rates_the_case_of_the_latest_prompt_once(
    api: Api, database_url: str
) -> None:
    """'4' rates the case whose evaluation prompt went out last; a retried push changes
    nothing and a second rating is stored but refused."""
    await picked_up(api, "V-1", "2026-03-02T09:10:00+08:00")
    await advance(api, "2026-03-02T10:30:00+08:00")  # V-1's prompt goes out at 10:10
    await picked_up(api, "V-2", "2026-03-02T10:40:00+08:00")
    await advance(api, "2026-03-02T11:50:00+08:00")  # V-2's prompt at 11:40: the latest
    sent = await query(
        database_url,
        "SELECT case_no, status FROM messages WHERE kind = 'evaluation_prompt' ORDER BY id",
    )
    assert [(r["case_no"], r["status"]) for r in sent] == [("V-1", "sent"), ("V-2", "sent")]
    sequence = await text(api, "4")
    await text(api, "4", sequence=sequence)  # Aliyun pushes the same text again
    await text(api, "1")
    _, case = await api.get("/v1/cases/V-2")
    assert case["rating"] == 4
    _, case = await api.get("/v1/cases/V-1")
    assert case["rating"] is None
    assert await inbound(api) == [("4", "rating", "V-2"), ("1", "rating_refused", "V-2")]


async def test_cx_answers_only_the_applicants_own_number(api: Api, database_url: str) -> None:
    """CX from the applicant's number queues a status_reply to it; from any other number,
    or for an unknown case, nothing is sent and nothing tells the two apart."""
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("Q-1", "2026-03-02T09:00:00+08:00"),
                ev.node_started("Q-1", "n1", "2026-03-02T09:05:00+08:00"),
            ]
        },
    )
    await text(api, "CX Q-1")
    await text(api, "CX Q-1", mobile=OTHER)
    await text(api, "CX NOPE-9", mobile=OTHER)
    # Tencent's reply push: one object, the number with its country code apart.
    resp = await api.client.post(
        f"/v1/callbacks/sms/tencent/reply?token={TOKEN}",
        json={
            "extend": "",
            "mobile": MOBILE,
            "nationcode": "86",
            "sign": "某市政务服务中心",
            "text": "cx q-1",
            "time": 1772416800,
        },
    )
    assert (resp.status, await resp.json()) == (200, {"result": 0, "errmsg": "OK"})
    replies = await sealed_rows(
        api,
        database_url,
        "SELECT recipient, body, sealed FROM messages WHERE kind = 'status_reply'",
    )
    assert [r["recipient"] for r in replies] == [MOBILE, MOBILE]
    assert "Q-1（食品经营许可）当前状态：办理中，办理环节：审查" in replies[0]["body"]
    assert await inbound(api) == [
        ("CX Q-1", "status_query", "Q-1"),
        ("CX Q-1", "query_refused", "Q-1"),
        ("CX NOPE-9", "query_refused", None),
        ("cx q-1", "status_query", "Q-1"),
    ]
    await advance(api, "2026-03-02T10:00:00+08:00")
    _, log = await api.get(f"/v1/messages?recipient={MOBILE}&kind=status_reply")
    assert {m["status"] for m in log["items"]} == {"sent"}


async def test_td_stops_optional_notices_but_never_mandatory_ones(
    api: Api, database_url: str
) -> None:
    """After TD the evaluation prompt is cancelled as it is queued (the log shows why) while
    the mandatory pickup notice still goes out."""
    await api.post("/v1/events", ev.accepted("T-1", "2026-03-02T09:00:00+08:00"))
    await text(api, "TD")
    await text(api, "TD")  # twice: still one opt-out
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.simple(
                    "case.ready_for_pickup", "T-1", "2026-03-02T09:20:00+08:00", location="3号窗口"
                ),
                ev.simple("case.picked_up", "T-1", "2026-03-02T09:30:00+08:00"),
            ]
        },
    )
    await advance(api, "2026-03-02T11:00:00+08:00")
    log = await query(database_url, "SELECT kind, status, error_code FROM messages ORDER BY id")
    assert [(r["kind"], r["status"], r["error_code"]) for r in log] == [
        ("case_accepted", "sent", None),
        ("pickup_notice", "sent", None),
        ("evaluation_prompt", "cancelled", "opted_out"),
    ]
    conn = await asyncpg.connect(database_url)
    try:
        given = [MOBILE, "+86" + MOBILE, OTHER]
        assert await opted_out(conn, api.vault, given) == {MOBILE, "+86" + MOBILE}
        assert await conn.fetchval("SELECT count(*) FROM opt_outs") == 1
        stored = await conn.fetchval("SELECT mobile FROM opt_outs")
        assert MOBILE not in stored and stored.startswith("sm4:")  # sealed, found by index
    finally:
        await conn.close()


async def test_yy_offers_free_slots_and_a_number_books_one_with_a_reminder(
    api: Api, database_url: str
) -> None:
    """YY lists the next free pickup slots; '3' books the third, the reminder is queued for
    09:00 the working day before, and a full slot is not offered again."""
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("Y-1", "2026-03-02T09:00:00+08:00"),
                ev.simple("case.decided", "Y-1", "2026-03-02T09:10:00+08:00", decision="approved"),
                ev.simple(
                    "case.ready_for_pickup",
                    "Y-1",
                    "2026-03-02T09:20:00+08:00",
                    location="市民中心B区3号窗口",
                ),
                ev.accepted(
                    "Y-2", "2026-03-02T09:00:00+08:00", applicant={"name": "李四", "mobile": OTHER}
                ),
                ev.simple("case.decided", "Y-2", "2026-03-02T09:10:00+08:00", decision="approved"),
            ]
        },
    )
    await text(api, "YY Y-1")
    offers = await sealed_rows(
        api, database_url, "SELECT body, sealed FROM messages WHERE kind = 'appointment_slots'"
    )
    assert (
        offers[0]["body"]
        == "Y-1可预约领证时段：1.3月3日上午 2.3月3日下午 3.3月4日上午。回复序号即可预约。"
    )
    stored = await query(database_url, "SELECT mobile, mobile_index FROM appointment_offers")
    assert [r["mobile"].startswith("sm4:") for r in stored] == [True]  # never the number
    assert MOBILE not in stored[0]["mobile"] and stored[0]["mobile_index"]
    await text(api, "3")
    booked = await query(database_url, "SELECT case_no, day, slot, mobile FROM appointments")
    assert booked[0]["mobile"].startswith("sm4:") and MOBILE not in booked[0]["mobile"]
    assert [(r["case_no"], r["day"].isoformat(), r["slot"]) for r in booked] == [
        ("Y-1", "2026-03-04", "09:00-12:00")
    ]
    confirmed = await sealed_rows(
        api,
        database_url,
        "SELECT recipient, body, not_before, created_at, sealed FROM messages"
        " WHERE kind = 'appointment_confirmed'",
    )
    # At once, not the day before the pickup like the reminder.
    assert [(r["recipient"], r["not_before"]) for r in confirmed] == [
        (MOBILE, confirmed[0]["created_at"])
    ]
    assert confirmed[0]["body"] == (
        "预约成功：您已预约3月4日上午（09:00-12:00）领取Y-1证照，地点：市民中心B区3号窗口。"
        "前一个工作日将再提醒您。"
    )
    reminder = await sealed_rows(
        api,
        database_url,
        "SELECT recipient, body, not_before, sealed FROM messages"
        " WHERE kind = 'appointment_reminder'",
    )
    assert reminder[0]["recipient"] == MOBILE
    assert reminder[0]["body"] == (
        "您已预约3月4日上午（09:00-12:00）领取Y-1证照，地点：市民中心B区3号窗口，请按时前往。"
    )
    assert reminder[0]["not_before"].isoformat() == "2026-03-03T01:00:00+00:00"  # 09:00 +08
    # Capacity 1: Y-2's applicant is not offered 3月4日上午.
    await text(api, "YY Y-2", mobile=OTHER)
    offers = await sealed_rows(
        api,
        database_url,
        "SELECT body, sealed FROM messages WHERE kind = 'appointment_slots' ORDER BY id",
    )
    assert "1.3月3日上午 2.3月3日下午 3.3月4日下午" in offers[1]["body"]
    assert await inbound(api) == [
        ("YY Y-1", "book_request", "Y-1"),
        ("3", "booked", "Y-1"),
        ("YY Y-2", "book_request", "Y-2"),
    ]


async def test_two_applicants_racing_for_the_last_place_one_gets_a_new_offer(
    api: Api, database_url: str
) -> None:
    """Both were offered the same slot; the second to answer is told what is free now."""
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("Z-1", "2026-03-02T09:00:00+08:00"),
                ev.simple("case.decided", "Z-1", "2026-03-02T09:10:00+08:00", decision="approved"),
                ev.accepted(
                    "Z-2", "2026-03-02T09:00:00+08:00", applicant={"name": "李四", "mobile": OTHER}
                ),
                ev.simple("case.decided", "Z-2", "2026-03-02T09:10:00+08:00", decision="approved"),
            ]
        },
    )
    await text(api, "YY Z-1")
    await text(api, "YY Z-2", mobile=OTHER)
    await text(api, "1")
    await text(api, "1", mobile=OTHER)
    assert [r[1] for r in await inbound(api)] == [
        "book_request",
        "book_request",
        "booked",
        "book_full",
    ]
    offers = await sealed_rows(
        api,
        database_url,
        "SELECT body, sealed FROM messages"
        " WHERE kind = 'appointment_slots' AND recipient_index = $1"
        " ORDER BY id",
        mobile_index(api.vault, OTHER),
    )
    assert "1.3月3日下午" in offers[-1]["body"]
    await text(api, "1", mobile=OTHER)
    slots = await query(database_url, "SELECT case_no, slot FROM appointments ORDER BY case_no")
    assert [(r["case_no"], r["slot"]) for r in slots] == [
        ("Z-1", "09:00-12:00"),
        ("Z-2", "14:00-17:00"),
    ]


async def test_yy_before_the_result_exists_answers_with_the_status(
    api: Api, database_url: str
) -> None:
    """A case still under review cannot be booked for pickup: the applicant gets its status."""
    await api.post("/v1/events", ev.accepted("N-1", "2026-03-02T09:00:00+08:00"))
    await text(api, "YY N-1")
    kinds = await query(database_url, "SELECT kind FROM messages ORDER BY id")
    assert [r["kind"] for r in kinds] == ["case_accepted", "status_reply"]
    assert await inbound(api) == [("YY N-1", "book_not_ready", "N-1")]


async def test_anything_else_is_kept_for_supervisors(api: Api, database_url: str) -> None:
    """A text that is no command is stored and listed for supervisors; nothing is sent."""
    await text(api, "窗口人员态度很好，谢谢")
    await text(api, "7")
    status, page = await api.get("/v1/inbound-sms?handled_as=other", key=SUPERVISOR_KEY)
    assert status == 200
    masked = MOBILE[:3] + "****" + MOBILE[-4:]  # a supervisor sees mobiles masked
    assert [(i["text"], i["mobile"]) for i in page["items"]] == [
        ("窗口人员态度很好，谢谢", masked),
        ("7", masked),
    ]
    assert page["next_cursor"] is None
    _, as_admin = await api.get("/v1/inbound-sms?handled_as=other")
    assert [i["mobile"] for i in as_admin["items"]] == [MOBILE, MOBILE]
    status, page = await api.get("/v1/inbound-sms?limit=1", key=SUPERVISOR_KEY)
    assert len(page["items"]) == 1 and page["next_cursor"]
    status, rest = await api.get(
        f"/v1/inbound-sms?limit=1&cursor={page['next_cursor']}", key=SUPERVISOR_KEY
    )
    assert [i["text"] for i in rest["items"]] == ["7"]
    assert (await api.get("/v1/inbound-sms?limit=0"))[0] == 422
    assert not await query(database_url, "SELECT id FROM messages")


async def test_texts_are_stored_sealed_and_found_by_number(api: Api, database_url: str) -> None:
    """No number or text in clear in inbound_sms; the mobile= filter still finds the sender's."""
    await text(api, "窗口人员态度很好，谢谢")
    await text(api, "办事很快", mobile=OTHER)
    stored = await query(database_url, "SELECT * FROM inbound_sms")
    assert len(stored) == 2
    for row in stored:
        clear = " ".join(str(value) for value in dict(row).values())
        assert MOBILE not in clear and OTHER not in clear
        assert "谢谢" not in clear and "办事很快" not in clear
        assert row["mobile"].startswith("sm4:") and row["text"].startswith("sm4:")
    _, page = await api.get(f"/v1/inbound-sms?mobile=%2B86{MOBILE}")
    assert [(i["mobile"], i["text"]) for i in page["items"]] == [(MOBILE, "窗口人员态度很好，谢谢")]
    _, page = await api.get(f"/v1/inbound-sms?mobile={OTHER}")
    assert [i["text"] for i in page["items"]] == ["办事很快"]


async def test_a_case_stored_before_sealing_answers_its_applicants_clear_number(
    api: Api, database_url: str
) -> None:
    """A case whose applicant was stored in clear (no blind index) still answers CX from
    the applicant's number, and only from it."""
    await api.post("/v1/events", {"events": [ev.accepted("Q-9", "2026-03-02T09:00:00+08:00")]})
    await query(
        database_url,
        "UPDATE cases SET applicant = $1::jsonb, applicant_mobile_index = NULL",
        json.dumps({"name": "张三丰", "mobile": MOBILE}),
    )
    await text(api, "CX Q-9")
    await text(api, "CX Q-9", mobile=OTHER)
    assert await inbound(api) == [
        ("CX Q-9", "status_query", "Q-9"),
        ("CX Q-9", "query_refused", "Q-9"),
    ]
