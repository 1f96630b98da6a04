"""Logs never carry a secret, a query code or a full mobile number."""

from __future__ import annotations

from hub.logging import mask_mobile, redact


def test_mobiles_are_masked_inside_any_text() -> None:
    """Any 11-digit mainland mobile in a log value shows as 138****5678."""
    assert mask_mobile("发送至13812345678成功") == "发送至138****5678成功"
    assert (
        mask_mobile("id 213812345678999") == "id 213812345678999"
    )  # longer digit runs are not mobiles


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
