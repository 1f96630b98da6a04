"""Mobile WAP pages: the lookup, a case, a mobile number's cases, a reviewer's inbox.

Routes (contract: "Mobile WAP pages"; plain HTML, no JavaScript)::

    GET  /wap/                      lookup forms: case number + query code, or mobile + SMS code
    POST /wap/lookup                case number + query code -> 303 to the case page
    POST /wap/code                  send an SMS code -> the code-entry page
    POST /wap/verify                the SMS code -> session cookie, 303 to /wap/mine
    GET  /wap/mine                  that number's cases;  POST /wap/logout ends the session
    GET  /wap/c/{token}             a case (signed link from an SMS, or from a lookup)
    POST /wap/c/{token}/rate        the 1-5 evaluation, once per case, after closing
    POST /wap/c/{token}/complaint   a complaint -> a notice to the department's supervisors
    GET  /wap/inbox/{token}         a reviewer's open nodes and notices
    POST /wap/inbox/{token}/read    mark one notice (or all) read
    GET  /wap/static/wap.css        the one stylesheet

Every post carries a CSRF token (:mod:`hub.pages.security`); wrong codes are
counted per client address and per case number and lock out
(:mod:`hub.store.attempts`), with the same answer for an unknown case number as
for a wrong code. Time comes only from ``app[CLOCK]``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from aiohttp import web

from core.events import normalize_mobile
from core.jsontext import storable
from core.notices import NoticeKind
from hub.keys import CLOCK, POOL, ROUTING, SETTINGS, VAULT
from hub.notices.links import LinkKind
from hub.notices.notify import case_context, notify_reviewers
from hub.notices.recipients import unique
from hub.notices.sealing import opened
from hub.notices.words import mask_mobile
from hub.pages.render import message_page, page, stylesheet
from hub.pages.security import check_csrf, csrf_token, mac, set_cookie, wap_middleware
from hub.pages.wap import login as wap_login
from hub.pages.wap import views as wap_views
from hub.privacy.access import fingerprint, record_case_read
from hub.privacy.fields import (
    EVALUATIONS_COMMENT,
    WAP_COMPLAINTS_CONTENT,
    mobile_lookup,
    reveal,
)
from hub.privacy.records import open_applicant
from hub.rectifications import listing as rectification_listing
from hub.replies.evaluations import RATING_WORDS, rate_case
from hub.store import attempts as wap_limits
from hub.store import ingest as store
from hub.store.queries import Q

__all__ = ["routes", "wap_middleware"]

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

#: A link made by a lookup (not sent by SMS) opens the case for a day.
LOOKUP_LINK_LIFETIME = timedelta(days=1)
MAX_COMMENT = 200
MAX_COMPLAINT = 500
COMPLAINTS_PER_DAY = 3
INBOX_NOTICES = 30

WRONG_CODE = "受理号或查询码不正确，请核对受理短信后重新输入。"
LOCKED = "查询失败次数过多，请30分钟后再试。"
CODE_REFUSALS = {
    "minute": "验证码每分钟只能获取1次，请稍后再试。",
    "hour": "该号码1小时内获取验证码已达5次，请稍后再试。",
    "day": "该号码24小时内获取验证码已达10次，请明天再试。",
    "client": "获取验证码过于频繁，请稍后再试。",
}
FLASH = {
    "rated": "感谢您的评价！",
    "already": "该办件已评价过，每件只能评价一次。",
    "complained": "投诉已提交，监督人员将尽快处理。",
}
BAD_LINK = ("链接无效或已过期", "该链接无效或已过期。您可以用受理号和查询码重新查询。")


# --- helpers ------------------------------------------------------------------------------


def _now(request: web.Request) -> datetime:
    return request.app[CLOCK].now()


def _tz(request: web.Request) -> ZoneInfo:
    return request.app[SETTINGS].calendar.tz


def _pool(request: web.Request) -> asyncpg.Pool:
    return request.app[POOL]


def _client(request: web.Request) -> str:
    # The real client: behind a proxy listed in http.trusted_proxies, the address it
    # forwarded (hub/api/clients.py); else the peer.
    return mac(request.app, "client", request.remote or "")


async def _form(request: web.Request) -> dict[str, str]:
    """The posted fields after the CSRF check; text that PostgreSQL cannot hold is refused."""
    raw = await request.post()
    form = {key: value for key, value in raw.items() if isinstance(value, str)}
    check_csrf(request, form)
    if not all(storable(value) for value in form.values()):
        raise web.HTTPBadRequest
    return form


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _verify(request: web.Request, kind: LinkKind) -> str | None:
    links = request.app[ROUTING].links
    return links.verify(kind, request.match_info["token"], now=_now(request))


def _case_link(request: web.Request, case_no: str) -> str:
    links = replace(request.app[ROUTING].links, lifetime=LOOKUP_LINK_LIFETIME)
    return f"/wap/c/{links.sign('c', case_no, now=_now(request))}"


def _lookup_page(
    request: web.Request,
    *,
    error: str = "",
    notice: str = "",
    status: int = 200,
    case_no: str = "",
) -> web.Response:
    """The lookup form; after a refusal it keeps the 受理号 typed, so only the code is retyped."""
    return page(
        "lookup.html.j2",
        {"csrf": csrf_token(request), "error": error, "notice": notice, "case_no": case_no},
        status=status,
    )


# --- lookup by case number and query code ---------------------------------------------------


@routes.get("/wap")
async def wap_root(_: web.Request) -> web.Response:
    return _see_other("/wap/")


@routes.get("/wap/")
async def lookup_form(request: web.Request) -> web.Response:
    return _lookup_page(request)


@routes.get("/wap/static/wap.css")
async def css(_: web.Request) -> web.Response:
    return web.Response(body=stylesheet(), content_type="text/css", charset="utf-8")


@routes.post("/wap/lookup")
async def lookup(request: web.Request) -> web.Response:
    form = await _form(request)
    case_no = form.get("case_no", "").strip()
    code = form.get("query_code", "").strip()
    if not case_no or not code or len(case_no) > 64 or len(code) > 32:
        return _lookup_page(
            request, error="请填写受理号和查询码。", status=422, case_no=case_no[:64]
        )
    now = _now(request)
    # One path for an unknown case number and a wrong code: the same queries, the same
    # comparison, the same answer (the per-case key is the typed text, known or not).
    async with _pool(request).acquire() as conn, conn.transaction():
        by_client = await wap_limits.take(
            conn, wap_limits.LOOKUP_PER_CLIENT, _client(request), now=now
        )
        by_case = await wap_limits.take(
            conn, wap_limits.LOOKUP_PER_CASE, mac(request.app, "case", case_no), now=now
        )
        if by_client.locked or by_case.locked:
            outcome = "locked"
        else:
            row = await conn.fetchrow(Q["wap_lookup_case"], case_no)
            stored: str | None = row["query_code"] if row is not None else None
            expected = stored if stored else secrets.token_hex(3)
            if hmac.compare_digest(code.encode(), expected.encode()) and stored:
                outcome = "ok"
                await wap_limits.refund(conn, by_client)
                await wap_limits.reset(conn, by_case)
            else:
                outcome = "wrong"
                await wap_limits.failed(conn, by_client, now=now)
                await wap_limits.failed(conn, by_case, now=now)
    log.info("wap_lookup", outcome=outcome)
    if outcome == "ok":
        return _see_other(_case_link(request, case_no))
    if outcome == "locked":
        response = _lookup_page(request, error=LOCKED, status=429, case_no=case_no)
        response.headers["Retry-After"] = str(int(wap_limits.LOOKUP_PER_CASE.lockout.seconds))
        return response
    return _lookup_page(request, error=WRONG_CODE, status=422, case_no=case_no)


# --- lookup by mobile number and SMS code ---------------------------------------------------


def _code_page(
    request: web.Request, login: str, masked: str, *, error: str = "", status: int = 200
) -> web.Response:
    return page(
        "code.html.j2",
        {"csrf": csrf_token(request), "login": login, "masked": masked, "error": error},
        status=status,
    )


@routes.post("/wap/code")
async def send_code(request: web.Request) -> web.Response:
    form = await _form(request)
    try:
        mobile = normalize_mobile(form.get("mobile", "")[:32])
    except ValueError:
        return _lookup_page(request, error="请输入11位手机号码。", status=422)
    async with _pool(request).acquire() as conn:
        result = await wap_login.request_code(
            request.app, conn, mobile, client=_client(request), now=_now(request)
        )
    if isinstance(result, wap_login.CodeRefused):
        log.info("wap_code_refused", reason=result.reason)
        return _lookup_page(request, error=CODE_REFUSALS[result.reason], status=429)
    log.info("wap_code_issued")
    return _code_page(request, result.login, mask_mobile(mobile))


@routes.post("/wap/verify")
async def verify_code(request: web.Request) -> web.Response:
    form = await _form(request)
    login = form.get("login", "")[:64]
    code = form.get("code", "").strip()[:16]
    now = _now(request)
    async with _pool(request).acquire() as conn:
        masked = await wap_login.masked_mobile_of(request.app, conn, login) if login else None
        if masked is None:
            return _lookup_page(request, error="验证码已失效，请重新获取。", status=422)
        by_client = await wap_limits.take(
            conn, wap_limits.LOOKUP_PER_CLIENT, _client(request), now=now
        )
        if by_client.locked:
            log.info("wap_login", outcome="locked")
            return _code_page(request, login, masked, error=LOCKED, status=429)
        result = await wap_login.check_code(request.app, conn, login, code, now=now)
        if result in ("wrong", "expired"):
            await wap_limits.failed(conn, by_client, now=now)
            log.info("wap_login", outcome=result)
            if result == "expired":
                return _lookup_page(request, error="验证码已失效，请重新获取。", status=422)
            return _code_page(request, login, masked, error="验证码不正确。", status=422)
        await wap_limits.refund(conn, by_client)
        sid = await wap_login.open_session(request.app, conn, result, now=now)
    log.info("wap_login", outcome="ok")
    response = _see_other("/wap/mine")
    max_age = wap_login.SESSIONS.max_age
    set_cookie(request, response, wap_login.SESSION_COOKIE, sid, max_age=max_age)
    return response


@routes.get("/wap/mine")
async def my_cases(request: web.Request) -> web.Response:
    now = _now(request)
    sid = request.cookies.get(wap_login.SESSION_COOKIE, "")
    async with _pool(request).acquire() as conn:
        mobile = await wap_login.session_mobile(request.app, conn, sid, now=now)
        if mobile is None:
            return _lookup_page(request, error="登录已过期，请重新获取验证码。", status=401)
        lookup = mobile_lookup(request.app[VAULT], mobile)
        rows = await conn.fetch(Q["wap_cases_of_mobile"], lookup, mobile)
    cases = [
        wap_views.case_list_item(row, now=now) | {"link": _case_link(request, row["case_no"])}
        for row in rows
    ]
    return page(
        "mine.html.j2",
        {"csrf": csrf_token(request), "masked": mask_mobile(mobile), "cases": cases},
    )


@routes.post("/wap/logout")
async def logout(request: web.Request) -> web.Response:
    await _form(request)
    sid = request.cookies.get(wap_login.SESSION_COOKIE, "")
    if sid:
        async with _pool(request).acquire() as conn:
            await wap_login.SESSIONS.close(request.app, conn, sid)
    response = _see_other("/wap/")
    response.del_cookie(wap_login.SESSION_COOKIE, path="/wap/")
    return response


# --- a case ----------------------------------------------------------------------------------


@routes.get("/wap/c/{token}")
async def case_page(request: web.Request) -> web.Response:
    case_no = _verify(request, "c")
    if case_no is None:
        return message_page(*BAD_LINK, status=404)
    now = _now(request)
    async with _pool(request).acquire() as conn:
        found = await store.get_case(conn, case_no)
        if found is None:
            return message_page(*BAD_LINK, status=404)
        case, nodes = found
        await _record_read(request, conn, case)
        events = await conn.fetch(Q["wap_case_events"], case_no)
        notices = await conn.fetch(Q["wap_applicant_notices"], case_no)
        evaluation = await conn.fetchrow(Q["wap_evaluation"], case_no)
    vault = request.app[VAULT]
    case = {**case, "applicant": open_applicant(vault, case["applicant"])}
    rated = evaluation and {
        **evaluation,
        "comment": evaluation["comment"]
        and reveal(vault, evaluation["comment"], field=EVALUATIONS_COMMENT),
    }
    view = wap_views.case_view(case, nodes, events, notices, rated, now=now, tz=_tz(request))
    return page(
        "case.html.j2",
        {
            "csrf": csrf_token(request),
            "token": request.match_info["token"],
            "case": view,
            "ratings": sorted(RATING_WORDS.items(), reverse=True),
            "notice": FLASH.get(request.query.get("m", ""), ""),
            "max_comment": MAX_COMMENT,
            "max_complaint": MAX_COMPLAINT,
        },
    )


async def _record_read(request: web.Request, conn: asyncpg.Connection, case: Any) -> None:
    """The access log names the signed link (or the signed-in session) that opened the case."""
    sid = request.cookies.get(wap_login.SESSION_COOKIE, "")
    credential = (
        f"session:{fingerprint(sid)}" if sid else "link:" + fingerprint(request.match_info["token"])
    )
    await record_case_read(
        conn,
        at=_now(request),
        role="applicant",
        actor=f"wap:{credential}",
        case_no=case["case_no"],
        department=case["department_code"],
        via="wap",
    )


async def _closed_case(conn: asyncpg.Connection, case_no: str) -> asyncpg.Record | None:
    row = await conn.fetchrow(Q["get_case"], case_no)
    return row if row is not None and row["status"] in wap_views.CLOSED_STATUSES else None


@routes.post("/wap/c/{token}/rate")
async def rate(request: web.Request) -> web.Response:
    case_no = _verify(request, "c")
    form = await _form(request)
    if case_no is None:
        return message_page(*BAD_LINK, status=404)
    try:
        rating = int(form.get("rating", ""))
    except ValueError:
        rating = 0
    comment = form.get("comment", "").strip()
    if rating not in RATING_WORDS or len(comment) > MAX_COMMENT:
        return message_page(
            "无法提交", f"请选择1至5分的评价，意见不超过{MAX_COMMENT}字。", status=422
        )
    async with _pool(request).acquire() as conn:
        if await _closed_case(conn, case_no) is None:
            return message_page("无法评价", "办结后才能评价。", status=409)
        rated = await rate_case(
            conn,
            case_no,
            rating,
            comment=comment or None,
            source="wap",
            now=_now(request),
            routing=request.app[ROUTING],
        )
    log.info("wap_rated", case_no=case_no, first=rated)
    token = request.match_info["token"]
    return _see_other(f"/wap/c/{token}?m={'rated' if rated else 'already'}")


@routes.post("/wap/c/{token}/complaint")
async def complain(request: web.Request) -> web.Response:
    case_no = _verify(request, "c")
    form = await _form(request)
    if case_no is None:
        return message_page(*BAD_LINK, status=404)
    content = form.get("content", "").strip()
    if not content or len(content) > MAX_COMPLAINT:
        return message_page("无法提交", f"请填写投诉内容，不超过{MAX_COMPLAINT}字。", status=422)
    now = _now(request)
    async with _pool(request).acquire() as conn, conn.transaction():
        case = await _closed_case(conn, case_no)
        if case is None:
            return message_page("无法投诉", "办结后可在此投诉；办理中请联系窗口。", status=409)
        recent = await conn.fetchval(Q["wap_complaints_since"], case_no, now - timedelta(days=1))
        if recent >= COMPLAINTS_PER_DAY:
            return message_page(
                "提交过于频繁", "该办件今天已提交多次投诉，请明天再试。", status=429
            )
        sealed = request.app[VAULT].seal(content, field=WAP_COMPLAINTS_CONTENT)
        complaint_id = await conn.fetchval(Q["wap_complaint_insert"], case_no, sealed, now)
        sent = await _tell_supervisors(request, conn, case, complaint_id, content, now)
    log.info("wap_complaint", case_no=case_no, complaint_id=complaint_id, notices=sent)
    return _see_other(f"/wap/c/{request.match_info['token']}?m=complained")


async def _tell_supervisors(
    request: web.Request,
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    complaint_id: int,
    content: str,
    now: datetime,
) -> int:
    """A complaint notice to each supervisor of the case's department (its head if none)."""
    routing = request.app[ROUTING]
    department = (
        await conn.fetchrow(Q["get_department"], case["department_code"])
        if case["department_code"]
        else None
    )
    targets: list[str] = []
    if department is not None:
        targets = unique([*department["supervisors"]]) or unique([department["head"]])
    context = case_context(routing, case, now) | {"content": content}
    return await notify_reviewers(
        conn,
        routing,
        targets,
        NoticeKind.COMPLAINT,
        f"complaint:{complaint_id}",
        context,
        now=now,
        case_no=case["case_no"],
    )


# --- a reviewer's inbox ----------------------------------------------------------------------


@routes.get("/wap/inbox/{token}")
async def inbox(request: web.Request) -> web.Response:
    person_id = _verify(request, "i")
    if person_id is None:
        return message_page(*BAD_LINK, status=404)
    now = _now(request)
    async with _pool(request).acquire() as conn:
        person = await conn.fetchrow(Q["wap_person"], person_id)
        nodes = await conn.fetch(Q["wap_open_nodes_of"], person_id, now)
        notices = await conn.fetch(Q["wap_notices_of"], person_id, INBOX_NOTICES)
        rectifications = await rectification_listing.of_head(
            conn, person_id, now=now, tz=_tz(request), vault=request.app[VAULT]
        )
    vault = request.app[VAULT]
    items = [wap_views.inbox_notice(opened(vault, row), tz=_tz(request)) for row in notices]
    links = {n["case_no"]: _case_link(request, n["case_no"]) for n in [*nodes, *items]}
    links.pop("", None)  # a notice about no case (a digest, an announcement)
    context: dict[str, Any] = {
        "csrf": csrf_token(request),
        "token": request.match_info["token"],
        "name": (person["name"] if person is not None else None) or "",
        "nodes": [n | {"link": links[n["case_no"]]} for n in wap_views.inbox_nodes(nodes, now=now)],
        "rectifications": [r | {"link": _case_link(request, r["case_no"])} for r in rectifications],
        "notices": [i | {"link": links.get(i["case_no"], "")} for i in items],
        "unread": sum(1 for item in items if not item["read"]),
    }
    return page("inbox.html.j2", context)


@routes.post("/wap/inbox/{token}/read")
async def mark_read(request: web.Request) -> web.Response:
    person_id = _verify(request, "i")
    form = await _form(request)
    if person_id is None:
        return message_page(*BAD_LINK, status=404)
    which = form.get("id", "")
    message_id: int | None
    if which == "all":
        message_id = None
    elif which.isascii() and which.isdigit() and len(which) <= 18:
        message_id = int(which)
    else:
        raise web.HTTPBadRequest
    async with _pool(request).acquire() as conn:
        await conn.execute(Q["wap_mark_read"], person_id, message_id, _now(request))
    return _see_other(f"/wap/inbox/{request.match_info['token']}#notices")
