"""A fake Aliyun Dysmsapi that verifies RPC signature V1 the way Aliyun documents it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid

from aiohttp import web

from tests.fakes.base import FakeHttpServer

_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def pop_encode(text: str) -> str:
    """Aliyun's percent-encoding, written out byte by byte (independent of channels/)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    query = "&".join(pop_encode(k) + "=" + pop_encode(v) for k, v in pairs)
    to_sign = method + "&" + pop_encode("/") + "&" + pop_encode(query)
    mac = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


REQUIRED = [
    "AccessKeyId",
    "Action",
    "Format",
    "PhoneNumbers",
    "RegionId",
    "SignName",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "TemplateCode",
    "Timestamp",
    "Version",
    "Signature",
]


class FakeAliyun(FakeHttpServer):
    def __init__(self, *, key_id: str, secret: str, sign_names: set[str], templates: set[str]):
        super().__init__()
        self.key_id, self.secret = key_id, secret
        self.sign_names, self.templates = sign_names, templates
        self.nonces: set[str] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/", self.handle)]

    @staticmethod
    def _answer(code: str, message: str = "", status: int = 200, **extra: str) -> web.Response:
        body = {"Code": code, "Message": message or code, "RequestId": str(uuid.uuid4()), **extra}
        return web.json_response(body, status=status)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if (response := await self.generic_fault()) is not None:
            return response
        form = {k: str(v) for k, v in (await request.post()).items()}
        missing = [k for k in REQUIRED if k not in form]
        if missing:
            return self._answer("MissingParameter", f"missing {missing[0]}", 400)
        if form["AccessKeyId"] != self.key_id:
            return self._answer("InvalidAccessKeyId.NotFound", status=404)
        if form["SignatureMethod"] != "HMAC-SHA1" or form["SignatureVersion"] != "1.0":
            return self._answer("IncompleteSignature", status=400)
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", form["Timestamp"]):
            return self._answer("InvalidTimeStamp.Format", status=400)
        if form["Signature"] != expected_signature(request.method, form, self.secret):
            return self._answer("SignatureDoesNotMatch", "Specified signature is not matched", 400)
        if form["SignatureNonce"] in self.nonces:
            return self._answer("SignatureNonceUsed", status=400)
        self.nonces.add(form["SignatureNonce"])
        if (form["Action"], form["Version"]) != ("SendSms", "2017-05-25"):
            return self._answer("InvalidAction", status=400)
        fault = self.take_fault()
        if fault == "throttle":
            return self._answer("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        if fault == "reject_recipient" or not re.fullmatch(r"1\d{10}", form["PhoneNumbers"]):
            return self._answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if form["SignName"] not in self.sign_names:
            return self._answer("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        if form["TemplateCode"] not in self.templates:
            return self._answer("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")
        try:
            params = json.loads(form.get("TemplateParam", "{}"))
        except json.JSONDecodeError:
            return self._answer("isv.INVALID_JSON_PARAM")
        biz_id = f"{len(self.requests) + 1:06d}^0"
        self.requests.append({**form, "TemplateParam": params, "BizId": biz_id})
        return self._answer("OK", "OK", BizId=biz_id)
