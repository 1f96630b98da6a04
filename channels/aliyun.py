"""Aliyun SMS (Dysmsapi 2017-05-25 ``SendSms``), RPC-style signature V1 (HMAC-SHA1).

Signing, per Aliyun's "签名机制" for RPC APIs:

1. Every parameter except ``Signature``, sorted by name, each name and value
   percent-encoded (RFC 3986 unreserved ``A–Z a–z 0–9 - _ . ~`` kept; space is
   ``%20``, never ``+``; ``*`` is ``%2A``), joined as ``k=v&k=v``.
2. ``StringToSign = METHOD + "&" + enc("/") + "&" + enc(canonical query)``.
3. ``Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))``.

``Timestamp`` is UTC ``YYYY-MM-DDThh:mm:ssZ``; ``SignatureNonce`` must be unique
per request (Aliyun rejects a reused one with ``SignatureNonceUsed``).

Aliyun does not deduplicate: after a timeout the message may have gone out, so
the adapter raises :class:`DeliveryUnknown` and the outbox reconciles (by
``OutId`` = our message id) before sending again.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote

import aiohttp
import orjson

from channels.base import (
    Clock,
    HttpAdapter,
    HttpRequest,
    ProviderPermanent,
    ProviderTransient,
    Receipt,
    classify,
    template_for,
    utcnow,
)
from channels.sms_length import count_segments, signed_text
from core.notices import ChannelKind, OutboundMessage

__all__ = ["ERRORS", "AliyunConfig", "AliyunSms", "build_request", "percent_encode", "sign"]

API_VERSION = "2017-05-25"


@dataclass(frozen=True, kw_only=True, slots=True)
class AliyunConfig:
    """``[channels.sms.aliyun]``; ``templates`` maps a notice kind to its TemplateCode."""

    endpoint: str = "https://dysmsapi.aliyuncs.com"
    access_key_id: str
    access_key_secret: str = field(repr=False)
    sign_name: str
    templates: Mapping[str, str] = field(default_factory=dict)
    region_id: str = "cn-hangzhou"
    timeout: float = 10.0
    # Aliyun's per-variable limit for notification templates (变量长度规范).
    max_param_chars: int = 35
    # The fixed start of our WAP links, written literally in the templates registered at
    # Aliyun (…查询：https://zw.example.gov.cn/wap/${link}); only the rest travels as the
    # variable, so a signed link fits the limit.
    link_prefix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "templates", MappingProxyType(dict(self.templates)))


# One table: Aliyun response Code -> what the outbox should do.
# https://help.aliyun.com/zh/sms/developer-reference/api-error-codes
ERRORS: Mapping[str, type[ProviderTransient] | type[ProviderPermanent]] = {
    # throttling and provider trouble: later
    "isv.BUSINESS_LIMIT_CONTROL": ProviderTransient,  # per-number minute/hour/day flow control
    "isv.DAY_LIMIT_CONTROL": ProviderTransient,
    "isp.SYSTEM_ERROR": ProviderTransient,
    "isp.GATEWAY_ERROR": ProviderTransient,
    "Throttling": ProviderTransient,
    "Throttling.User": ProviderTransient,
    "Throttling.Api": ProviderTransient,
    "ServiceUnavailable": ProviderTransient,
    "InternalError": ProviderTransient,
    "SignatureNonceUsed": ProviderTransient,  # a fresh nonce on the next attempt fixes it
    "InvalidTimeStamp.Expired": ProviderTransient,  # clock skew: fix NTP, then it goes out
    "isv.AMOUNT_NOT_ENOUGH": ProviderTransient,  # balance: goes out once topped up
    "isv.OUT_OF_SERVICE": ProviderTransient,  # suspended for arrears: same
    # the message itself is refused: dead-letter, try the fallback channel
    "isv.MOBILE_NUMBER_ILLEGAL": ProviderPermanent,
    "isv.MOBILE_COUNT_OVER_LIMIT": ProviderPermanent,
    "isv.SMS_TEMPLATE_ILLEGAL": ProviderPermanent,
    "isv.TEMPLATE_MISSING_PARAMETERS": ProviderPermanent,
    "isv.TEMPLATE_PARAMS_ILLEGAL": ProviderPermanent,
    "isv.SMS_SIGNATURE_ILLEGAL": ProviderPermanent,
    "isv.SMS_SIGN_ILLEGAL": ProviderPermanent,
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": ProviderPermanent,
    "isv.INVALID_PARAMETERS": ProviderPermanent,
    "isv.INVALID_JSON_PARAM": ProviderPermanent,
    "isv.PARAM_LENGTH_LIMIT": ProviderPermanent,
    "isv.PARAM_NOT_SUPPORT_URL": ProviderPermanent,
    "isv.BLACK_KEY_CONTROL_LIMIT": ProviderPermanent,
    "isv.SMS_CONTENT_ILLEGAL": ProviderPermanent,
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": ProviderPermanent,
    "isv.ACCOUNT_NOT_EXISTS": ProviderPermanent,
    "isv.ACCOUNT_ABNORMAL": ProviderPermanent,
    "isv.DENY_IP_RANGE": ProviderPermanent,
    "isp.RAM_PERMISSION_DENY": ProviderPermanent,
    "SignatureDoesNotMatch": ProviderPermanent,
    "IncompleteSignature": ProviderPermanent,
    "InvalidAccessKeyId.NotFound": ProviderPermanent,
    "InvalidAccessKeyId.Inactive": ProviderPermanent,
    "MissingParameter": ProviderPermanent,
}


_UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]*")


def percent_encode(value: str) -> str:
    """Aliyun's POP percent-encoding: RFC 3986 unreserved kept, everything else %XX (UTF-8)."""
    if _UNRESERVED.fullmatch(value):  # most parameters: nothing to encode, skip quote()
        return value
    return _quoted(value)


# The values quote() is slow on repeat: the SignName and the Timestamp of this second.
@functools.lru_cache(maxsize=256)
def _quoted(value: str) -> str:
    return quote(value, safe="-_.~")


def _encode_query(query: str) -> str:
    """``percent_encode`` of a canonical query, whose only reserved characters are % = &."""
    return query.replace("%", "%25").replace("=", "%3D").replace("&", "%26")


def canonical_query(params: Mapping[str, str]) -> str:
    """Sorted, percent-encoded ``k=v`` pairs joined by ``&`` (``Signature`` excluded)."""
    return "&".join(  # SendSms: send_sms_query builds the same text faster
        f"{percent_encode(k)}={percent_encode(v)}"
        for k, v in sorted(params.items())
        if k != "Signature"
    )


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&enc(canonical query)``."""
    return _string_to_sign(method, canonical_query(params))


def _string_to_sign(method: str, query: str) -> str:
    return f"{method.upper()}&%2F&{_encode_query(query)}"


def sign(method: str, params: Mapping[str, str], secret: str) -> str:
    """Base64(HMAC-SHA1(secret + "&", StringToSign))."""
    return _sign_query(method, canonical_query(params), secret)


def _sign_query(method: str, query: str, secret: str) -> str:
    mac = _keyed(secret).copy()  # the key's pads are computed once, not per request
    mac.update(_string_to_sign(method, query).encode())
    return base64.b64encode(mac.digest()).decode("ascii")


@functools.lru_cache(maxsize=8)
def _keyed(secret: str) -> hmac.HMAC:
    return hmac.new(f"{secret}&".encode(), digestmod=hashlib.sha1)


def timestamp_param(instant: datetime) -> str:
    """ISO 8601 in UTC, to the second, with ``Z`` (Aliyun's ``Timestamp``)."""
    return _utc_second(math.floor(instant.timestamp()))


@functools.lru_cache(maxsize=4)  # a burst of sends shares its second
def _utc_second(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def domestic_number(recipient: str) -> str:
    """Aliyun wants mainland numbers without a country code; keep others as given."""
    number = recipient.strip().replace(" ", "").replace("-", "")
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            return number[len(prefix) :]
    return number


def build_request(
    config: AliyunConfig, message: OutboundMessage, *, timestamp: datetime, nonce: str
) -> HttpRequest:
    """The signed ``SendSms`` request (POST, form-encoded), byte for byte.

    Raises :class:`ProviderPermanent` when no TemplateCode is configured for the
    kind or a parameter is longer than Aliyun allows: both would be refused.
    """
    template_code = template_for(
        config.templates,
        message,
        provider="aliyun",
        what="TemplateCode",
        section="channels.sms.aliyun",
    )
    values = {
        name: value.removeprefix(config.link_prefix) if config.link_prefix else value
        for name, value in message.params.items()
    }
    for name, value in values.items():
        if len(value) > config.max_param_chars:
            raise ProviderPermanent(
                f"aliyun: template variable {name} has {len(value)} characters; "
                f"the limit is {config.max_param_chars}",
                code="isv.PARAM_LENGTH_LIMIT",
            )
    query = send_sms_query(  # once: it is both signed and sent
        config,
        template_code,
        out_id=message.id,
        phone_numbers=domestic_number(message.recipient),
        nonce=nonce,
        template_param=template_param(values),
        timestamp=timestamp_param(timestamp),
    )
    signature = _sign_query("POST", query, config.access_key_secret)
    body = f"Signature={percent_encode(signature)}&{query}"
    return HttpRequest(
        method="POST",
        url=config.endpoint.rstrip("/") + "/",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        body=body.encode("ascii"),
    )


def template_param(values: Mapping[str, str]) -> str:
    """``TemplateParam``: the variables as compact JSON, UTF-8 text as it is (no ``\\u``)."""
    try:
        return orjson.dumps(values).decode()  # the same text as the json module's, ~10x faster
    except TypeError:  # what orjson refuses (a lone surrogate): the standard library
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def send_sms_query(
    config: AliyunConfig,
    template_code: str,
    *,
    out_id: str,
    phone_numbers: str,
    nonce: str,
    template_param: str,
    timestamp: str,
) -> str:
    """``canonical_query`` of a ``SendSms`` request, built in its (fixed) sorted order.

    Nine of its fourteen parameters are the same for every message of a template:
    they are encoded once (issue 18: sorting and encoding them per message was a
    third of the signing cost). ``canonical_query`` of the same parameters gives the
    same text (a property test holds them together).
    """
    head, middle, tail = _fixed_parts(
        config.access_key_id, config.region_id, config.sign_name, template_code
    )
    return (
        f"{head}{percent_encode(out_id)}&PhoneNumbers={percent_encode(phone_numbers)}"
        f"{middle}{percent_encode(nonce)}{tail}{_varying(template_param)}"
        f"&Timestamp={percent_encode(timestamp)}&Version={API_VERSION}"
    )


@functools.lru_cache(maxsize=64)
def _fixed_parts(
    access_key_id: str, region_id: str, sign_name: str, template_code: str
) -> tuple[str, str, str]:
    """The encoded text around the varying values, in sorted parameter order."""
    enc = percent_encode
    head = f"AccessKeyId={enc(access_key_id)}&Action=SendSms&Format=JSON&OutId="
    middle = (
        f"&RegionId={enc(region_id)}&SignName={enc(sign_name)}"
        "&SignatureMethod=HMAC-SHA1&SignatureNonce="
    )
    tail = f"&SignatureVersion=1.0&TemplateCode={enc(template_code)}&TemplateParam="
    return head, middle, tail


def _varying(value: str) -> str:
    """``percent_encode`` of a value that is new each time (no cache to fill and evict)."""
    if _UNRESERVED.fullmatch(value):
        return value
    return quote(value, safe="-_.~")


def parse_response(
    config: AliyunConfig,
    message: OutboundMessage,
    payload: Mapping[str, Any],
    accepted_at: datetime,
) -> Receipt:
    """``Code == "OK"`` -> a receipt with ``BizId``; any other code -> the classified error."""
    code = str(payload.get("Code", ""))
    if code != "OK":
        raise classify("aliyun", code or "(no Code)", str(payload.get("Message", "")), ERRORS)
    return Receipt(
        provider_message_id=str(payload.get("BizId") or "") or None,
        accepted_at=accepted_at,
        segments=count_segments(message.body, config.sign_name),
        raw=payload,
    )


class AliyunSms(HttpAdapter[AliyunConfig]):
    """Sends SMS through Aliyun Dysmsapi ``SendSms``."""

    kind: ClassVar[ChannelKind | None] = ChannelKind.SMS
    provider: ClassVar[str] = "aliyun"
    config_type: ClassVar[type[AliyunConfig]] = AliyunConfig

    def __init__(
        self,
        config: AliyunConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utcnow,
        nonce: Callable[[], str] = lambda: os.urandom(16).hex(),  # 128 random bits, as uuid4
    ) -> None:
        super().__init__(config, session=session, clock=clock)
        self._nonce = nonce

    def preview(self, message: OutboundMessage) -> str:
        """The text the handset will show, signature included (for the message log)."""
        return signed_text(message.body, self.config.sign_name)

    async def send(self, message: OutboundMessage) -> Receipt:
        """Send one SMS; a receipt carries Aliyun's ``BizId``."""
        request = build_request(self.config, message, timestamp=self._clock(), nonce=self._nonce())
        _, payload = await self._exchange(request, sent_may_count=True)
        return parse_response(self.config, message, payload, self._clock())
