"""A fake generic SMS gateway: bearer token, JSON in, ``{"code": "0", "msg_id": ...}`` out."""

from __future__ import annotations

import json
import re

from aiohttp import web

from tests.fakes.base import FakeHttpServer


class FakeGateway(FakeHttpServer):
    def __init__(self, *, token: str) -> None:
        super().__init__()
        self.token = token

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/sms/send", self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if (response := await self.generic_fault()) is not None:
            return response
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"code": "AUTH", "msg": "bad token"}, status=401)
        data = json.loads(await request.read())
        fault = self.take_fault()
        if fault == "throttle":
            return web.json_response({"code": "BUSY", "msg": "too many requests"})
        if fault == "reject_recipient" or not re.fullmatch(r"1\d{10}", data.get("mobile", "")):
            return web.json_response({"code": "BAD_MOBILE", "msg": "invalid mobile"})
        msg_id = f"gw-{len(self.requests) + 1}"
        self.requests.append({**data, "gateway_id": msg_id})
        return web.json_response({"code": "0", "msg_id": msg_id})
