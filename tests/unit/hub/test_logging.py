"""Logs never carry a secret, a query code or a full mobile number."""

from __future__ import annotations

import io

import structlog

from hub.logging import redact


def test_mobiles_are_masked_inside_any_text() -> None:
    """Any 11-digit mainland mobile in a log value shows as 138****5678."""
    event = redact(None, "info", {"event": "x", "detail": "发送至13812345678成功"})
    assert event["detail"] == "发送至138****5678成功"
    # longer digit runs are not mobiles
    assert redact(None, "info", {"id": "id 213812345678999"})["id"] == "id 213812345678999"


def test_secret_fields_are_replaced() -> None:
    """Fields named like secrets or query codes are replaced whatever their value."""
    event = redact(
        None,
        "info",
        {
            "event": "notice_sent",
            "access_key_secret": "abc",
            "query_code": "123456",
            "Authorization": "Bearer x",
            "recipient": "13900001111",
        },
    )
    assert event == {
        "event": "notice_sent",
        "access_key_secret": "***",
        "query_code": "***",
        "Authorization": "***",
        "recipient": "139****1111",
    }


def test_signed_tokens_in_paths_and_query_strings_are_cut() -> None:
    """A signed WAP path, a token anywhere, and ?token= values never reach a log line."""
    event = redact(
        None,
        "info",
        {
            "event": "wap_csrf_refused",
            "path": "/wap/c/c2k1NJ20260302-0042.abcdefghijk/rate",
            "url": "/v1/callbacks/sms/aliyun/report?token=cb-secret&x=1",
            "detail": "opened i2k1p-li.abcdefghijk from 13812345678",
        },
    )
    assert event["path"] == "/wap/c/***/rate"
    assert event["url"] == "/v1/callbacks/sms/aliyun/report?token=***&x=1"
    assert event["detail"] == "opened *** from 138****5678"


def test_the_access_log_is_redacted_once_logging_is_configured() -> None:
    """Should aiohttp's access log be switched on, its request lines lose their tokens too."""
    import logging

    from hub.logging import RedactAccessLog, configure_logging

    try:
        configure_logging("warning", "json", stream=io.StringIO())
        configure_logging("warning", "json", stream=io.StringIO())  # the filter is added once
    finally:
        structlog.reset_defaults()
    access = logging.getLogger("aiohttp.access")
    filters = [f for f in access.filters if isinstance(f, RedactAccessLog)]
    assert len(filters) == 1
    record = logging.LogRecord(
        "aiohttp.access",
        logging.INFO,
        __file__,
        1,
        '%s "%s" %s',
        ("127.0.0.1", "GET /wap/inbox/i2k1p-li.abcdefghijk HTTP/1.1", 200),
        None,
    )
    assert filters[0].filter(record)
    assert record.getMessage() == '127.0.0.1 "GET /wap/inbox/*** HTTP/1.1" 200'
