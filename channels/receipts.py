"""Pure parsers for the providers' push formats: delivery reports and upstream SMS.

The callback routes (hub) authenticate the request, then hand the raw body
here. Formats, per the providers' documentation:

* Aliyun SmsReport (HTTP batch push): a JSON array of ``{phone_number,
  send_time, report_time, success, err_code, err_msg, sms_size, biz_id,
  out_id}``; SmsUp: ``[{phone_number, send_time, content, sign_name,
  dest_code, sequence_id}]``. Answer ``{"code": 0, "msg": "成功"}``.
* Tencent status callback: a JSON array of ``{user_receive_time, nationcode,
  mobile, report_status: SUCCESS|FAIL, errmsg, description, sid}`` (``sid`` =
  the ``SerialNo`` of SendSms); reply callback: one object ``{extend, mobile,
  nationcode, sign, text, time}``. Answer ``{"result": 0, "errmsg": "OK"}``.

Times without a zone are Beijing time (UTC+8), as both providers send them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from core.errors import InputError
from core.instants import check_instant
from core.jsontext import NotJson, parse_json

__all__ = [
    "ALIYUN_ACK",
    "TENCENT_ACK",
    "DeliveryReport",
    "InboundSms",
    "parse_aliyun_reports",
    "parse_aliyun_up",
    "parse_tencent_reply",
    "parse_tencent_reports",
]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ALIYUN_ACK: Mapping[str, Any] = {"code": 0, "msg": "成功"}
TENCENT_ACK: Mapping[str, Any] = {"result": 0, "errmsg": "OK"}


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryReport:
    """The handset received (or did not receive) a message we sent."""

    provider: str
    provider_message_id: str  # Aliyun BizId / Tencent sid (= SerialNo)
    message_id: str | None  # our id when the provider echoes it (Aliyun out_id)
    mobile: str
    delivered: bool
    code: str  # DELIVERED, DELIVRD, or the carrier's failure code
    description: str
    reported_at: datetime | None
    segments: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class InboundSms:
    """A text a person sent to us (a reply: ``1``–``5``, ``CX <case_no>``, ``TD``, ...)."""

    provider: str
    mobile: str  # without country code for mainland numbers
    text: str
    received_at: datetime | None
    sign_name: str = ""
    extend: str = ""


def _load(body: bytes | str) -> Any:
    """The body as JSON: nesting bounded, every string storable (else InputError naming it)."""
    try:
        return parse_json(body)
    except NotJson as exc:
        raise InputError(f"the callback body is not JSON: {exc}") from exc


def _items(data: Any) -> list[Mapping[str, Any]]:
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, Mapping) for item in items):
        raise InputError("the callback body must be a JSON object or an array of objects")
    return items


def _require(item: Mapping[str, Any], *keys: str) -> None:
    missing = [k for k in keys if item.get(k) in (None, "")]
    if missing:
        raise InputError(f"the callback item lacks {missing[0]}")


def _local_time(value: Any, field: str) -> datetime | None:
    """A provider's time (Beijing wall time, or Unix seconds), within 2000–2100 or refused."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            instant = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(f"{field}: {value!r} is not a plausible Unix time") from None
        return check_instant(instant, field)
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            parsed = datetime.strptime(str(value), pattern).replace(tzinfo=BEIJING)
        except ValueError:
            continue
        return check_instant(parsed, field)
    raise InputError(f"{field}: unreadable time {value!r} in the callback")


def _mainland(mobile: str, nationcode: str = "86") -> str:
    mobile = mobile.strip()
    if mobile.startswith("+86"):
        return mobile[3:]
    if nationcode not in ("", "86"):
        return f"+{nationcode}{mobile}"
    return mobile


def parse_aliyun_reports(body: bytes | str) -> list[DeliveryReport]:
    """Aliyun SmsReport push -> delivery reports (``success`` decides delivered)."""
    reports = []
    for item in _items(_load(body)):
        _require(item, "biz_id", "phone_number")
        size = item.get("sms_size")
        reports.append(
            DeliveryReport(
                provider="aliyun",
                provider_message_id=str(item["biz_id"]),
                message_id=str(item["out_id"]) if item.get("out_id") else None,
                mobile=_mainland(str(item["phone_number"])),
                delivered=item.get("success") in (True, "true"),
                code=str(item.get("err_code", "")),
                description=str(item.get("err_msg", "")),
                reported_at=_local_time(item.get("report_time"), "report_time"),
                segments=int(str(size)) if str(size or "").isdigit() else None,
            )
        )
    return reports


def parse_aliyun_up(body: bytes | str) -> list[InboundSms]:
    """Aliyun SmsUp push -> inbound texts."""
    texts = []
    for item in _items(_load(body)):
        _require(item, "phone_number", "content")
        texts.append(
            InboundSms(
                provider="aliyun",
                mobile=_mainland(str(item["phone_number"])),
                text=str(item["content"]).strip(),
                received_at=_local_time(item.get("send_time"), "send_time"),
                sign_name=str(item.get("sign_name") or ""),
                extend=str(item.get("dest_code") or ""),
            )
        )
    return texts


def parse_tencent_reports(body: bytes | str) -> list[DeliveryReport]:
    """Tencent status callback -> delivery reports (``report_status`` SUCCESS is delivered)."""
    reports = []
    for item in _items(_load(body)):
        _require(item, "sid", "mobile")
        reports.append(
            DeliveryReport(
                provider="tencent",
                provider_message_id=str(item["sid"]),
                message_id=None,
                mobile=_mainland(str(item["mobile"]), str(item.get("nationcode", "86"))),
                delivered=str(item.get("report_status", "")).upper() == "SUCCESS",
                code=str(item.get("errmsg", "")),
                description=str(item.get("description", "")),
                reported_at=_local_time(item.get("user_receive_time"), "user_receive_time"),
            )
        )
    return reports


def parse_tencent_reply(body: bytes | str) -> list[InboundSms]:
    """Tencent reply callback (one object, or an array of them) -> inbound texts."""
    texts = []
    for item in _items(_load(body)):
        _require(item, "mobile", "text")
        texts.append(
            InboundSms(
                provider="tencent",
                mobile=_mainland(str(item["mobile"]), str(item.get("nationcode", "86"))),
                text=str(item["text"]).strip(),
                received_at=_local_time(item.get("time"), "time"),
                sign_name=str(item.get("sign") or ""),
                extend=str(item.get("extend") or ""),
            )
        )
    return texts
