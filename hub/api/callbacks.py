"""Provider callbacks: SMS delivery receipts and upstream texts, in the providers' push formats.

==========================================  ==========================================
``POST /v1/callbacks/sms/aliyun/report``    Aliyun SmsReport: a JSON array of reports
``POST /v1/callbacks/sms/aliyun/up``        Aliyun SmsUp: a JSON array of texts
``POST /v1/callbacks/sms/tencent/status``   Tencent 短信下发状态回调: a JSON array
``POST /v1/callbacks/sms/tencent/reply``    Tencent 短信回复回调: one JSON object
``GET /v1/inbound-sms``                     the stored texts, for supervisors (API key)
==========================================  ==========================================

The callback URLs carry ``?token=`` (``auth.callback_token``), compared in
constant time before the body is read; a missing or wrong token is 403 and
changes nothing. Each attempt is counted per client address first
(:data:`TOKEN_GUESSES`, kept in PostgreSQL like the WAP limits) and a right token
gives its count back, so only wrong tokens fill the window: a client that guessed
wrong 20 times in an hour gets 429 with ``Retry-After`` for an hour, right token or not.

Each push is applied in one transaction, then acknowledged as
the provider expects (Aliyun ``{"code": 0, "msg": "成功"}``, Tencent
``{"result": 0, "errmsg": "OK"}``), also for ids we do not know, so the provider
stops retrying. The one exception: a receipt that overtakes our own record of
the send (the row is still ``sending``) is answered with a non-zero code, so the
provider pushes it again a little later; applying a push twice is harmless.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from aiohttp import web

from channels.receipts import (
    ALIYUN_ACK,
    TENCENT_ACK,
    DeliveryReport,
    InboundSms,
    parse_aliyun_reports,
    parse_aliyun_up,
    parse_tencent_reply,
    parse_tencent_reports,
)
from core.errors import InputError
from core.events import mobile_digits
from core.jsontext import storable
from hub.api.audit import record_request_cases
from hub.api.auth import ROLE_KEY, allow
from hub.api.bodies import read_body
from hub.api.problems import Problem
from hub.keys import CLOCK, POOL, ROUTING, SETTINGS, VAULT
from hub.notices.words import mask_mobile, mask_mobiles_in
from hub.pages.security import mac
from hub.privacy.access import INBOUND_SMS_READ
from hub.privacy.fields import INBOUND_SMS_MOBILE, INBOUND_SMS_TEXT, mobile_lookup, reveal
from hub.privacy.vault import Vault
from hub.replies.inbound import Replies, apply_receipts, inbound_keys
from hub.store import attempts as wap_limits
from hub.store.queries import Q

routes = web.RouteTableDef()

# What each provider takes as "not yet, push again" (anything but its success answer).
_ALIYUN_RETRY: Mapping[str, Any] = {"code": 1, "msg": "稍后重试"}
_TENCENT_RETRY: Mapping[str, Any] = {"result": 1, "errmsg": "retry later"}


#: Wrong callback tokens from one client address (a token guesser, not a provider).
TOKEN_GUESSES = wap_limits.Limit(
    scope="callback_token", attempts=20, window=timedelta(hours=1), lockout=timedelta(hours=1)
)


async def _check_token(request: web.Request) -> None:
    expected = request.app[SETTINGS].auth.callback_token.get_secret_value().encode()
    offered = request.query.get("token", "").encode()
    client = mac(request.app, "client", request.remote or "")
    now = request.app[CLOCK].now()
    async with request.app[POOL].acquire() as conn:
        taken = await wap_limits.take(conn, TOKEN_GUESSES, client, now=now)
        if taken.locked:
            raise Problem(
                429,
                "too many callbacks with a wrong token from this address; try again later",
                headers={"Retry-After": str(int(TOKEN_GUESSES.lockout.total_seconds()))},
            )
        # Both sides non-empty: an unset token must not make every push acceptable.
        if not expected or not hmac.compare_digest(offered, expected):
            await wap_limits.failed(conn, taken, now=now)
            raise Problem(
                403, "the callback URL needs ?token= with the configured auth.callback_token"
            )
        await wap_limits.refund(conn, taken)


async def _body(request: web.Request) -> bytes:
    raw = await read_body(request, request.app[SETTINGS].http.read_timeout)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "the callback body is not UTF-8") from exc
    if not storable(text):
        raise Problem(400, "the callback body holds a NUL byte or invalid Unicode")
    return raw


def _json(body: Mapping[str, Any]) -> web.Response:
    return web.json_response(dict(body), dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def _receipts(
    request: web.Request,
    parse: Callable[[bytes], list[DeliveryReport]],
    ack: Mapping[str, Any],
    retry: Mapping[str, Any],
) -> web.Response:
    await _check_token(request)
    reports = parse(await _body(request))
    now = request.app[CLOCK].now()
    async with request.app[POOL].acquire() as conn, conn.transaction():
        outcome = await apply_receipts(conn, reports, now=now, vault=request.app[VAULT])
    return _json(retry if outcome.waiting else ack)


def _raw_items(body: bytes) -> list[Mapping[str, Any]]:
    """The push's items as sent (the parsers drop Aliyun's ``sequence_id``, our dedupe key)."""
    data = json.loads(body)
    items = data if isinstance(data, list) else [data]
    return [item if isinstance(item, Mapping) else {} for item in items]


async def _texts(
    request: web.Request, parse: Callable[[bytes], list[InboundSms]], ack: Mapping[str, Any]
) -> web.Response:
    await _check_token(request)
    body = await _body(request)
    texts = parse(body)  # raises InputError (422) for a body that is not the push format
    vault = request.app[VAULT]
    keyed = [
        (sms, inbound_keys(sms, raw, vault))
        for sms, raw in zip(texts, _raw_items(body), strict=True)
    ]
    app = request.app
    settings = app[SETTINGS]
    replies = Replies(
        app[ROUTING],
        settings.appointments,
        max_attempts=settings.policy.max_attempts,
        vault=vault,
    )
    now = app[CLOCK].now()
    async with app[POOL].acquire() as conn, conn.transaction():
        await replies.handle(conn, keyed, now=now)
    return _json(ack)


@routes.post("/v1/callbacks/sms/aliyun/report")
async def aliyun_report(request: web.Request) -> web.Response:
    """Aliyun SmsReport (HTTP batch push)."""
    return await _receipts(request, parse_aliyun_reports, ALIYUN_ACK, _ALIYUN_RETRY)


@routes.post("/v1/callbacks/sms/aliyun/up")
async def aliyun_up(request: web.Request) -> web.Response:
    """Aliyun SmsUp (HTTP batch push of upstream texts)."""
    return await _texts(request, parse_aliyun_up, ALIYUN_ACK)


@routes.post("/v1/callbacks/sms/tencent/status")
async def tencent_status(request: web.Request) -> web.Response:
    """Tencent Cloud SMS status callback."""
    return await _receipts(request, parse_tencent_reports, TENCENT_ACK, _TENCENT_RETRY)


@routes.post("/v1/callbacks/sms/tencent/reply")
async def tencent_reply(request: web.Request) -> web.Response:
    """Tencent Cloud SMS reply callback."""
    return await _texts(request, parse_tencent_reply, TENCENT_ACK)


# --- what supervisors read --------------------------------------------------------------


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(value.encode() + b"==").decode()
        return int(decoded)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InputError("cursor: not a cursor this list gave out") from exc


def _inbound_json(row: Mapping[str, Any], tz: Any, vault: Vault) -> dict[str, Any]:
    def local(value: Any) -> str | None:
        return value.astimezone(tz).isoformat() if value is not None else None

    return {
        "id": row["id"],
        "provider": row["provider"],
        "mobile": reveal(vault, row["mobile"], field=INBOUND_SMS_MOBILE),
        "text": reveal(vault, row["text"], field=INBOUND_SMS_TEXT),
        "handled_as": row["handled_as"],
        "case_no": row["case_no"],
        "detail": row["detail"],
        "sent_at": local(row["sent_at"]),
        "received_at": local(row["received_at"]),
    }


@routes.get("/v1/inbound-sms")
@allow("supervisor")
async def list_inbound_sms(request: web.Request) -> web.Response:
    """Texts people sent, oldest first; ``handled_as=other`` lists the ones no command matched."""
    query = request.query
    try:
        limit = int(query.get("limit", "100"))
    except ValueError:
        limit = -1
    if not 1 <= limit <= 1000:
        raise Problem(
            422,
            "limit must be 1 to 1000",
            errors=[{"field": "limit", "message": "must be an integer from 1 to 1000"}],
        )
    after = _cursor(query.get("cursor"))
    vault = request.app[VAULT]
    mobile = query.get("mobile")
    async with request.app[POOL].acquire() as conn:
        rows: Sequence[Any] = await conn.fetch(
            Q["inbound_sms_list"],
            query.get("handled_as"),
            mobile_lookup(vault, mobile) if mobile is not None else None,
            query.get("case_no"),
            after,
            limit + 1,
            mobile_digits(mobile) if mobile is not None else None,
        )
        shown = rows[:limit]
        if shown:  # texts are personal data: one access-log row per page shown
            asked = {k: v for k, v in query.items() if k in ("handled_as", "case_no")}
            if mobile is not None:
                asked["mobile"] = mask_mobile(mobile)
            await record_request_cases(
                conn,
                request,
                action=INBOUND_SMS_READ,
                subject=query.get("case_no") or "inbound-sms",
                detail={"via": "api", "asked": asked, "texts": len(shown)},
                case_nos=[str(r["case_no"]) for r in shown if r["case_no"]],
            )
    tz = request.app[SETTINGS].calendar.tz
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        base64.urlsafe_b64encode(str(rows[-1]["id"]).encode()).decode().rstrip("=")
        if more
        else None
    )
    items = [_inbound_json(r, tz, vault) for r in rows]
    if request[ROLE_KEY] != "admin":  # supervisors see mobile numbers masked (README: roles)
        items = [
            i | {"mobile": mask_mobile(i["mobile"]), "text": mask_mobiles_in(i["text"])}
            for i in items
        ]
    return _json({"items": items, "next_cursor": next_cursor})
