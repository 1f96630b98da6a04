"""Parsers for Aliyun/Tencent delivery reports and upstream SMS pushes (documented samples)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.receipts import (
    BEIJING,
    parse_aliyun_reports,
    parse_aliyun_up,
    parse_tencent_reply,
    parse_tencent_reports,
)
from core.errors import InputError


def test_aliyun_report_sample_parses() -> None:
    """Aliyun's SmsReport sample becomes a delivered report matched by BizId and OutId."""
    body = """[{"phone_number": "13812345678", "send_time": "2017-01-01 00:00:00",
      "report_time": "2017-01-01 00:00:05", "success": true, "err_code": "DELIVERED",
      "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "12345", "out_id": "67890"}]"""
    (report,) = parse_aliyun_reports(body)
    assert (report.provider_message_id, report.message_id) == ("12345", "67890")
    assert report.delivered and report.code == "DELIVERED" and report.segments == 1
    assert report.reported_at == datetime(2017, 1, 1, 0, 0, 5, tzinfo=BEIJING)


def test_aliyun_failed_report_keeps_the_carrier_code() -> None:
    """An undelivered SMS keeps the carrier's error code for the message log."""
    body = '[{"phone_number":"13812345678","success":false,"err_code":"MK:0001","biz_id":"9"}]'
    (report,) = parse_aliyun_reports(body)
    assert not report.delivered and report.code == "MK:0001" and report.message_id is None


def test_aliyun_up_sample_parses() -> None:
    """Aliyun's SmsUp sample becomes an inbound text with the sender's number."""
    body = """[{"phone_number": "13812345678", "send_time": "2017-09-01 00:00:00",
      "content": " 5 ", "sign_name": "签名", "dest_code": "1234", "sequence_id": 1234567890}]"""
    (sms,) = parse_aliyun_up(body)
    assert (sms.mobile, sms.text, sms.extend) == ("13812345678", "5", "1234")


def test_tencent_status_sample_parses() -> None:
    """Tencent's status callback sample becomes a delivered report keyed by sid."""
    body = """[{"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86",
      "mobile": "13812345678", "report_status": "SUCCESS", "errmsg": "DELIVRD",
      "description": "用户短信送达成功", "sid": "2433:0001"}]"""
    (report,) = parse_tencent_reports(body)
    assert report.provider_message_id == "2433:0001" and report.delivered
    assert report.reported_at == datetime(2015, 10, 17, 0, 3, 4, tzinfo=UTC)


def test_tencent_reply_sample_parses() -> None:
    """Tencent's reply callback (a single object) becomes one inbound text."""
    body = """{"extend": "", "mobile": "13812345678", "nationcode": "86", "sign": "某市政务",
      "text": "CX NJ20250312-0042", "time": 1457336869}"""
    (sms,) = parse_tencent_reply(body)
    assert sms.text == "CX NJ20250312-0042"
    assert sms.received_at == datetime.fromtimestamp(1457336869, UTC)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '[{"phone_number": "138"}]'])
def test_malformed_bodies_are_input_errors(body: str) -> None:
    """Garbage is refused with an InputError (the route answers 4xx, never 5xx)."""
    with pytest.raises(InputError):
        parse_aliyun_reports(body)
