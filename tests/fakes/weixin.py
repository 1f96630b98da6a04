"""Fake WeCom (qyapi) and WeChat official-account (api.weixin) servers.

Both hand out access tokens that expire on demand (:meth:`expire_tokens`),
count token fetches, and answer with the providers' ``errcode`` JSON.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeHttpServer


class _TokenServer(FakeHttpServer):
    stale_code = 42001

    def __init__(self, *, expires_in: int = 7200) -> None:
        super().__init__()
        self.expires_in = expires_in
        self.live: set[str] = set()
        self.expired: set[str] = set()
        self.token_fetches = 0

    def issue(self) -> web.Response:
        self.token_fetches += 1
        token = f"tok-{self.token_fetches}-{uuid.uuid4().hex[:6]}"
        self.live.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}
        )

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (42001 on use)."""
        self.expired |= self.live
        self.live.clear()

    def check_token(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token in self.expired:
            return self.err(self.stale_code, "access_token expired")
        if token not in self.live:
            return self.err(40014, "invalid access_token")
        return None

    @staticmethod
    def err(code: int, message: str, **extra: Any) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": message, **extra})

    async def read_json(self, request: web.Request) -> dict[str, Any]:
        data = json.loads(await request.read())
        assert isinstance(data, dict)
        return data


class FakeWeCom(_TokenServer):
    def __init__(self, *, corp_id: str, corp_secret: str, agent_id: int, users: set[str]):
        super().__init__()
        self.corp_id, self.corp_secret, self.agent_id, self.users = (
            corp_id,
            corp_secret,
            agent_id,
            users,
        )
        # Real WeCom answers errcode 0 with ``invaliduser`` when only some
        # recipients are invalid; ``lenient`` makes the fake do that always.
        self.lenient = False

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/cgi-bin/gettoken", self.gettoken),
            web.post("/cgi-bin/message/send", self.send),
        ]

    async def gettoken(self, request: web.Request) -> web.StreamResponse:
        if (response := await self.generic_fault()) is not None:
            return response
        if request.query.get("corpid") != self.corp_id:
            return self.err(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.corp_secret:
            return self.err(40001, "invalid secret")
        return self.issue()

    async def send(self, request: web.Request) -> web.StreamResponse:
        if (response := await self.generic_fault()) is not None:
            return response
        if (response := self.check_token(request)) is not None:
            return response
        data = await self.read_json(request)
        if data.get("agentid") != self.agent_id:
            return self.err(40056, "invalid agentid")
        kind = data.get("msgtype")
        if kind == "textcard":
            card = data.get("textcard", {})
            if not all(card.get(k) for k in ("title", "description", "url")):
                return self.err(41009, "missing textcard field")
            if len(card["title"].encode()) > 128 or len(card["description"].encode()) > 512:
                return self.err(45002, "content size out of limit")
        elif kind != "text":
            return self.err(40008, "invalid message type")
        fault = self.take_fault()
        if fault == "throttle":
            return self.err(45009, "api freq out of limit")
        users = [u for u in str(data.get("touser", "")).split("|") if u]
        invalid = [u for u in users if u not in self.users or fault == "reject_recipient"]
        if invalid and len(invalid) == len(users) and not self.lenient:
            return self.err(81013, "user & party & tag all invalid", invaliduser="|".join(invalid))
        msgid = f"wecom-{len(self.requests) + 1}"
        self.requests.append({**data, "msgid": msgid})
        return self.err(0, "ok", invaliduser="|".join(invalid), msgid=msgid)


class FakeWeChatMp(_TokenServer):
    def __init__(self, *, app_id: str, app_secret: str, templates: set[str], followers: set[str]):
        super().__init__()
        self.app_id, self.app_secret, self.templates, self.followers = (
            app_id,
            app_secret,
            templates,
            followers,
        )
        self.by_client_id: dict[str, int] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/cgi-bin/token", self.token),
            web.post("/cgi-bin/message/template/send", self.send),
        ]

    async def token(self, request: web.Request) -> web.StreamResponse:
        if (response := await self.generic_fault()) is not None:
            return response
        if request.query.get("grant_type") != "client_credential":
            return self.err(40002, "invalid grant_type")
        if request.query.get("appid") != self.app_id:
            return self.err(40013, "invalid appid")
        if request.query.get("secret") != self.app_secret:
            return self.err(40125, "invalid appsecret")
        return self.issue()

    async def send(self, request: web.Request) -> web.StreamResponse:
        if (response := await self.generic_fault()) is not None:
            return response
        if (response := self.check_token(request)) is not None:
            return response
        data = await self.read_json(request)
        if data.get("template_id") not in self.templates:
            return self.err(40037, "invalid template_id")
        fields = data.get("data")
        if not isinstance(fields, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("value"), str) for v in fields.values()
        ):
            return self.err(47003, "argument invalid! data.value invalid")
        fault = self.take_fault()
        if fault == "throttle":
            return self.err(45009, "reach max api daily quota limit")
        if fault == "reject_recipient" or data.get("touser") not in self.followers:
            return self.err(43004, "require subscribe")
        client_id = data.get("client_msg_id")
        if client_id in self.by_client_id:  # WeChat drops a resend with the same client_msg_id
            return self.err(0, "ok", msgid=self.by_client_id[client_id])
        msgid = 200000 + len(self.requests) + 1
        if client_id:
            self.by_client_id[client_id] = msgid
        self.requests.append({**data, "msgid": msgid})
        return self.err(0, "ok", msgid=msgid)
