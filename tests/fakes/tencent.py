"""A fake Tencent Cloud SMS that verifies TC3-HMAC-SHA256 as Tencent documents it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeHttpServer

AUTH = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d\d-\d\d)/(?P<service>[^/]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})"
)


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    def step(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing = step(step(step(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


class FakeTencent(FakeHttpServer):
    def __init__(
        self, *, secret_id: str, secret_key: str, app_id: str, templates: set[str], now: float
    ):
        super().__init__()
        self.secret_id, self.secret_key = secret_id, secret_key
        self.app_id, self.templates, self.now = app_id, templates, now

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/", self.handle)]

    @staticmethod
    def _error(code: str, message: str = "") -> web.Response:
        return web.json_response(
            {
                "Response": {
                    "Error": {"Code": code, "Message": message or code},
                    "RequestId": str(uuid.uuid4()),
                }
            }
        )

    def _verify(self, request: web.Request, body: bytes) -> str | None:
        match = AUTH.fullmatch(request.headers.get("Authorization", ""))
        if not match:
            return "AuthFailure.InvalidAuthorization"
        if match["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        stamp = int(request.headers.get("X-TC-Timestamp", "0"))
        if abs(stamp - self.now) > 300:
            return "AuthFailure.SignatureExpire"
        if time.strftime("%Y-%m-%d", time.gmtime(stamp)) != match["date"]:
            return "AuthFailure.SignatureFailure"
        signed = match["signed"].split(";")
        if "content-type" not in signed or "host" not in signed:
            return "AuthFailure.SignatureFailure"
        canonical_headers = "".join(
            f"{name}:{request.headers.get(name, '').strip().lower()}\n" for name in signed
        )
        canonical = "\n".join(
            ["POST", "/", "", canonical_headers, match["signed"], hashlib.sha256(body).hexdigest()]
        )
        scope = f"{match['date']}/{match['service']}/tc3_request"
        to_sign = "\n".join(
            ["TC3-HMAC-SHA256", str(stamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        if tc3_signature(self.secret_key, match["date"], match["service"], to_sign) != match["sig"]:
            return "AuthFailure.SignatureFailure"
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if (response := await self.generic_fault()) is not None:
            return response
        body = await request.read()
        if (problem := self._verify(request, body)) is not None:
            return self._error(problem)
        if request.headers.get("X-TC-Action") != "SendSms":
            return self._error("InvalidAction")
        if request.headers.get("X-TC-Version") != "2021-01-11":
            return self._error("NoSuchVersion")
        if not request.headers.get("X-TC-Region"):
            return self._error("MissingParameter", "X-TC-Region")
        data: dict[str, Any] = json.loads(body)
        if data.get("SmsSdkAppId") != self.app_id:
            return self._error("InvalidParameterValue.SdkAppIdNotExist")
        if data.get("TemplateId") not in self.templates:
            return self._error("FailedOperation.TemplateIncorrectOrUnapproved")
        fault = self.take_fault()
        statuses = []
        for number in data.get("PhoneNumberSet", []):
            code, message = "Ok", "send success"
            if fault == "throttle":
                code, message = "LimitExceeded.PhoneNumberThirtySecondLimit", "30秒内频率限制"
            elif fault == "reject_recipient" or not re.fullmatch(r"\+861\d{10}", number):
                code, message = "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"
            serial = f"2433:{len(self.requests) + 1:020d}"
            statuses.append(
                {
                    "SerialNo": serial,
                    "PhoneNumber": number,
                    "Fee": 1,
                    "IsoCode": "CN",
                    "SessionContext": data.get("SessionContext", ""),
                    "Code": code,
                    "Message": message,
                }
            )
            if code == "Ok":
                self.requests.append({**data, "SerialNo": serial})
        return web.json_response(
            {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}
        )
