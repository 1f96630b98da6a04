"""Logs never carry a secret, a query code or a full mobile number."""

from __future__ import annotations

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
