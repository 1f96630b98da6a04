"""Tencent Cloud SMS (``SendSms``, API 2021-01-11), signed with TC3-HMAC-SHA256.

Signing, per Tencent Cloud API 3.0 "签名方法 v3":

* ``CanonicalRequest = POST\\n/\\n\\ncontent-type:<ct>\\nhost:<host>\\n\\n``
  ``content-type;host\\n`` + hex(SHA256(body))
* ``StringToSign = TC3-HMAC-SHA256\\n<timestamp>\\n<date>/<service>/tc3_request\\n``
  + hex(SHA256(CanonicalRequest)); ``date`` is the **UTC** date of the timestamp.
* key = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request");
  ``Signature`` = hex(HMAC-SHA256(key, StringToSign)).
* Headers ``Authorization``, ``X-TC-Action``, ``X-TC-Version``,
  ``X-TC-Timestamp``, ``X-TC-Region``.

The answer carries one ``SendStatusSet`` entry per number with its own
``Code``; we send one number per request and classify that code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

from channels.base import (
    HttpAdapter,
    HttpRequest,
    ProviderPermanent,
    ProviderTransient,
    Receipt,
    classify,
    template_for,
)
from channels.render import sms_params
from channels.sms_length import count_segments
from core.notices import ChannelKind, OutboundMessage

__all__ = ["ERRORS", "TencentConfig", "TencentSms", "authorization", "build_request"]

API_VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True, kw_only=True, slots=True)
class TencentConfig:
    """``[channels.sms.tencent]``; ``templates`` maps a notice kind to its TemplateId."""

    endpoint: str = "https://sms.tencentcloudapi.com"
    secret_id: str
    secret_key: str = field(repr=False)
    sdk_app_id: str
    sign_name: str
    region: str = "ap-guangzhou"
    templates: Mapping[str, str] = field(default_factory=dict)
    service: str = "sms"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "templates", MappingProxyType(dict(self.templates)))


# One table: Tencent error / SendStatus Code -> what the outbox should do.
# https://cloud.tencent.com/document/api/382/52075 (SMS error codes)
ERRORS: Mapping[str, type[ProviderTransient] | type[ProviderPermanent]] = {
    "InternalError": ProviderTransient,
    "InternalError.Timeout": ProviderTransient,
    "InternalError.OtherError": ProviderTransient,
    "InternalError.RequestTimeException": ProviderTransient,
    "InternalError.SendAndRecvFail": ProviderTransient,
    "RequestLimitExceeded": ProviderTransient,
    "LimitExceeded.DeliveryFrequencyLimit": ProviderTransient,
    "LimitExceeded.PhoneNumberThirtySecondLimit": ProviderTransient,
    "LimitExceeded.PhoneNumberOneHourLimit": ProviderTransient,
    "LimitExceeded.PhoneNumberDailyLimit": ProviderTransient,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": ProviderTransient,
    "LimitExceeded.AppDailyLimit": ProviderTransient,
    "FailedOperation.InsufficientBalanceInSmsPackage": ProviderTransient,
    "AuthFailure.SignatureExpire": ProviderTransient,  # clock skew > 5 min: fix NTP
    "InvalidParameterValue.IncorrectPhoneNumber": ProviderPermanent,
    "FailedOperation.PhoneNumberInBlacklist": ProviderPermanent,
    "FailedOperation.PhoneNumberParseFail": ProviderPermanent,
    "FailedOperation.TemplateIncorrectOrUnapproved": ProviderPermanent,
    "FailedOperation.SignatureIncorrectOrUnapproved": ProviderPermanent,
    "FailedOperation.ContainSensitiveWord": ProviderPermanent,
    "InvalidParameterValue.TemplateParameterFormatError": ProviderPermanent,
    "InvalidParameterValue.TemplateParameterLengthLimit": ProviderPermanent,
    "InvalidParameterValue.ContentLengthLimit": ProviderPermanent,
    "InvalidParameterValue.SdkAppIdNotExist": ProviderPermanent,
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": ProviderPermanent,
    "UnauthorizedOperation.RequestPermissionDeny": ProviderPermanent,
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": ProviderPermanent,
    "AuthFailure.SignatureFailure": ProviderPermanent,
    "AuthFailure.SecretIdNotFound": ProviderPermanent,
    "AuthFailure.InvalidSecretId": ProviderPermanent,
    "MissingParameter": ProviderPermanent,
    "InvalidParameter": ProviderPermanent,
}


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    content_type: str,
    payload: bytes,
    timestamp: int,
) -> str:
    """The ``Authorization`` header for a POST of ``payload`` signed with ``content-type;host``."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            _sha256_hex(payload),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode("utf-8"))]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def e164(recipient: str) -> str:
    """Tencent wants E.164: a bare 11-digit mainland mobile gets ``+86``."""
    number = recipient.strip().replace(" ", "").replace("-", "")
    if number.startswith("+"):
        return number
    if number.startswith("0086"):
        return "+" + number[2:]
    if len(number) == 11 and number.startswith("1"):
        return "+86" + number
    return number


def template_params(message: OutboundMessage) -> list[str]:
    """``{1}``, ``{2}`` … in the order the variables first appear in the SMS template.

    Positional, so the order is the template's, not the mapping's: a message read
    back from the outbox has its params from a ``jsonb`` column, which reorders keys.
    """
    order = sms_params(message.kind)
    if set(order) == set(message.params):
        return [message.params[name] for name in order]
    return list(message.params.values())


def build_request(
    config: TencentConfig, message: OutboundMessage, *, timestamp: int
) -> HttpRequest:
    """The signed ``SendSms`` request, byte for byte; ``timestamp`` is Unix seconds."""
    template_id = template_for(
        config.templates,
        message,
        provider="tencent",
        what="TemplateId",
        section="channels.sms.tencent",
    )
    body = {
        "PhoneNumberSet": [e164(message.recipient)],
        "SmsSdkAppId": config.sdk_app_id,
        "SignName": config.sign_name,
        "TemplateId": template_id,
        "TemplateParamSet": template_params(message),
        "SessionContext": message.id,
    }
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    host = urlsplit(config.endpoint).netloc
    headers = {
        "Authorization": authorization(
            secret_id=config.secret_id,
            secret_key=config.secret_key,
            service=config.service,
            host=host,
            content_type=CONTENT_TYPE,
            payload=payload,
            timestamp=timestamp,
        ),
        "Content-Type": CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": "SendSms",
        "X-TC-Version": API_VERSION,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Region": config.region,
    }
    return HttpRequest(
        method="POST", url=config.endpoint.rstrip("/") + "/", headers=headers, body=payload
    )


def parse_response(
    config: TencentConfig,
    message: OutboundMessage,
    payload: Mapping[str, Any],
    accepted_at: datetime,
) -> Receipt:
    """A request-level ``Error`` or the number's ``SendStatusSet`` code other than ``Ok`` raise."""
    response = payload.get("Response")
    if not isinstance(response, Mapping):
        raise ProviderTransient("tencent: answer without a Response object")
    error = response.get("Error")
    if isinstance(error, Mapping):
        raise classify("tencent", str(error.get("Code")), str(error.get("Message", "")), ERRORS)
    statuses = response.get("SendStatusSet") or []
    if not statuses or not isinstance(statuses[0], Mapping):
        raise ProviderTransient("tencent: answer without a SendStatusSet entry")
    status = statuses[0]
    code = str(status.get("Code", ""))
    if code != "Ok":
        raise classify("tencent", code, str(status.get("Message", "")), ERRORS)
    fee = status.get("Fee")
    return Receipt(
        provider_message_id=str(status.get("SerialNo") or "") or None,
        accepted_at=accepted_at,
        segments=fee
        if isinstance(fee, int) and fee > 0
        else count_segments(message.body, config.sign_name),
        raw=response,
    )


class TencentSms(HttpAdapter[TencentConfig]):
    """Sends SMS through Tencent Cloud SMS ``SendSms``."""

    kind: ClassVar[ChannelKind | None] = ChannelKind.SMS
    provider: ClassVar[str] = "tencent"
    config_type: ClassVar[type[TencentConfig]] = TencentConfig

    async def send(self, message: OutboundMessage) -> Receipt:
        """Send one SMS; a receipt carries Tencent's ``SerialNo`` and billed ``Fee``."""
        request = build_request(self.config, message, timestamp=int(self._clock().timestamp()))
        _, payload = await self._exchange(request, sent_may_count=True)
        return parse_response(self.config, message, payload, self._clock())
