"""``/supervise/``: the read-only supervision pages (电子监察) for desktop and phone.

Keys never travel in URLs. A supervisor (or admin) signs in once on a small form;
the page then rides on an HttpOnly, SameSite=Strict session cookie holding a
random id (8 hours by the app's clock). The session lives in the database
(``supervise_sessions``, :mod:`hub.pages.security`): logging out deletes it, and
it ends as soon as the key that opened it is no longer configured. Wrong keys on
the form are logged and limited per client address (:mod:`hub.store.attempts`).
An ``Authorization: Bearer`` header works too, for scripts. Ingest keys are
refused with 403.

* ``/supervise/``: live yellow/red lists per department, the stats table for a
  period, a six-month trend chart, complaints received, investment projects.
* ``/supervise/projects/{id}``: every approval of one project across departments.
* ``/supervise/reports/{YYYY-MM}``: the monthly report (:mod:`hub.supervision.report`).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from html import escape
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from hub.api.auth import actor_of, key_for
from hub.keys import CALENDAR, CLOCK, POOL, ROUTING, SETTINGS, VAULT
from hub.pages.security import SessionTable, form_token, form_token_ok, mac, set_cookie
from hub.pages.supervise import errors, views
from hub.privacy.access import (
    READS,
    SUPERVISE_READ,
    Scope,
    record_cases_shown,
    scope_of,
    visible_detail,
)
from hub.privacy.fields import WAP_COMPLAINTS_CONTENT, reveal
from hub.rectifications import listing as rectification_listing
from hub.settings import ApiKey
from hub.store import attempts
from hub.store.queries import Q
from hub.supervision import charts, report, stats, templates
from hub.supervision.calendar_status import calendar_status
from hub.supervision.urges import NothingToUrge, urge_case, urge_confirmation

__all__ = ["COOKIE", "SESSIONS", "open_session", "routes", "session_key"]

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

COOKIE = "cuiban_supervise"
COOKIE_PATH = "/supervise"
SESSIONS = SessionTable(purpose="supervise_session", lifetime=timedelta(hours=8))
_PAGE_ROLES = frozenset({"admin", "supervisor"})
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
MAX_LIST = 500


def key_fingerprint(app: web.Application, key: ApiKey) -> str:
    """Names an API key in the session table without storing anything that opens a door."""
    return mac(app, "key_fingerprint", key.key.get_secret_value())


async def open_session(
    app: web.Application, conn: asyncpg.Connection, key: ApiKey, *, now: datetime
) -> str:
    """A new session for ``key``: the cookie's value (the table keeps only its MAC)."""
    return await SESSIONS.open(app, conn, key_fingerprint(app, key), now=now)


async def session_key(
    app: web.Application, conn: asyncpg.Connection, sid: str | None, *, now: datetime
) -> ApiKey | None:
    """The configured key behind a live session; None when ended, expired or its key is gone."""
    fingerprint = await SESSIONS.holder(app, conn, sid, now=now)
    if fingerprint is None:
        return None
    for key in app[SETTINGS].auth.api_keys:
        if key_fingerprint(app, key) == fingerprint:
            return key
    return None


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return errors.html(text, status, _HEADERS | (headers or {}))


def _login_page(message: str | None, status: int) -> web.Response:
    page = templates.environment().get_template("login.html.j2").render(message=message)
    return _html(page, status)


async def _page_key(
    request: web.Request, conn: asyncpg.Connection, header: str, *, via: str
) -> ApiKey | web.Response:
    """The configured page key ``header`` carries; else the refusal to send.

    Wrong keys are counted per client address, in the sign-in form and in an
    ``Authorization`` header alike, and logged (never the key itself).
    """
    app = request.app
    now = app[CLOCK].now()
    client = mac(app, "client", request.remote or "")
    limit = attempts.SUPERVISE_SIGN_IN_PER_CLIENT
    taken = await attempts.take(conn, limit, client, now=now)
    if taken.locked:
        log.warning("supervise_sign_in_refused", reason="locked", via=via, client=client)
        response = _login_page("密钥错误次数过多，请稍后再试。", 429)
        response.headers["Retry-After"] = str(int(limit.lockout.total_seconds()))
        return response
    key = key_for(header, app[SETTINGS].auth.api_keys)
    if key is None:
        await attempts.failed(conn, taken, now=now)
        log.warning(
            "supervise_sign_in_refused",
            reason="wrong_key",
            via=via,
            client=client,
            count=taken.count,
        )
        return _login_page("密钥不正确。", 401)
    await attempts.refund(conn, taken)
    if key.role not in _PAGE_ROLES:
        log.info("supervise_sign_in_refused", reason="role", via=via, actor=actor_of(key))
        return _login_page(f"角色为 {key.role} 的密钥不能查看电子监察页面。", 403)
    return key


async def _caller(request: web.Request) -> ApiKey | web.Response:
    """The caller's key; else the response to send: a refusal (403) or the way to sign in."""
    app = request.app
    header = request.headers.get("Authorization")
    async with app[POOL].acquire() as conn:
        if header:
            async with conn.transaction():
                return await _page_key(request, conn, header, via="header")
        key = await session_key(app, conn, request.cookies.get(COOKIE), now=app[CLOCK].now())
    if key is None or key.role not in _PAGE_ROLES:
        raise web.HTTPSeeOther("/supervise/login", headers=_HEADERS)
    return key


SignedInHandler = Callable[[web.Request, ApiKey], Awaitable[web.Response]]


def _signed_in(handler: SignedInHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Run ``handler`` with the caller's key; a caller without a page key gets the refusal."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.Response:
        key = await _caller(request)
        if isinstance(key, web.Response):
            return key
        return await handler(request, key)

    return checked


def _not_found(text: str) -> web.Response:
    return _html(f"<!DOCTYPE html><title>404</title><p>{escape(text)}</p>", 404)


def _render(template: str, **context: Any) -> web.Response:
    return _html(templates.environment().get_template(template).render(**context))


@routes.get("/supervise/login")
async def login_form(request: web.Request) -> web.Response:
    return _login_page(None, 200)


@routes.post("/supervise/login")
async def login(request: web.Request) -> web.Response:
    """Sign in with a key; wrong keys are logged and limited per client address."""
    form = await request.post()
    offered = form.get("key")
    if not isinstance(offered, str) or not offered.strip():
        return _login_page("请输入密钥。", 401)
    app = request.app
    async with app[POOL].acquire() as conn, conn.transaction():
        key = await _page_key(request, conn, f"Bearer {offered.strip()}", via="form")
        if isinstance(key, web.Response):
            return key
        sid = await open_session(app, conn, key, now=app[CLOCK].now())
    log.info("supervise_signed_in", actor=actor_of(key))
    response = web.HTTPSeeOther("/supervise/", headers=_HEADERS)
    set_cookie(request, response, COOKIE, sid, max_age=SESSIONS.max_age, path=COOKIE_PATH)
    raise response


@routes.post("/supervise/logout")
async def logout(request: web.Request) -> web.Response:
    """End the session here and everywhere its cookie may have been copied to."""
    sid = request.cookies.get(COOKIE)
    if sid and len(sid) <= 64:
        async with request.app[POOL].acquire() as conn:
            await SESSIONS.close(request.app, conn, sid)
    response = web.HTTPSeeOther("/supervise/login", headers=_HEADERS)
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    raise response


def _months_back(today: datetime, count: int) -> stats.Period:
    first = today.date().replace(day=1)
    for _ in range(count - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return stats.Period(first=first, last=today.date())


def _trend_svg(groups: list[stats.Group]) -> str:
    def series(zh: str, en: str, values: list[float | None]) -> charts.Series:
        return charts.Series(name=charts.Label(zh, en), values=values)

    chart = charts.Chart(
        labels=[charts.Label(g.key or "", g.key or "") for g in groups],
        series=[
            series("受理", "Accepted", [float(g.figures.accepted) for g in groups]),
            series("办结", "Closed", [float(g.figures.closed) for g in groups]),
            series("超期办结", "Closed late", [float(g.figures.late) for g in groups]),
            series("在办超期", "Open overdue", [float(g.figures.open_overdue) for g in groups]),
        ],
        title=charts.Label("月度趋势", "Monthly trend"),
        width=9.0,
        height=3.4,
    )
    return charts.bar_chart_svg(chart)


@routes.get("/supervise/")
@_signed_in
async def page(request: web.Request, key: ApiKey) -> web.Response:
    """The supervision page."""
    app = request.app
    tz = app[SETTINGS].calendar.tz
    now = app[CLOCK].now()
    local_now = now.astimezone(tz)
    try:
        period, _ = stats.parse_period(
            request.query.get("from"), request.query.get("to"), today=local_now.date()
        )
    except stats.StatsQueryError as exc:
        return _html(
            f"<!DOCTYPE html><title>422</title><p>查询参数有误：{escape(str(exc))}</p>", 422
        )
    lo, hi = period.bounds(tz)
    async with app[POOL].acquire() as conn:
        figures = await stats.compute(conn, period, group_by="department", now=now, tz=tz)
        trend = await stats.compute(
            conn, _months_back(local_now, 6), group_by="month", now=now, tz=tz
        )
        warning_rows = await conn.fetch(Q["stats_warnings"], now, MAX_LIST)
        complaint_rows = await conn.fetch(Q["stats_complaints"], lo, hi, MAX_LIST)
        projects = await conn.fetch(Q["project_list"], 100)
        calendar = await calendar_status(conn, app[CALENDAR], app[SETTINGS].calendar, now)
        rectifications = await rectification_listing.live(conn, now=now, tz=tz, vault=app[VAULT])
        await _record_shown(
            request,
            conn,
            key,
            page="index",
            case_nos=[str(r["case_no"]) for r in complaint_rows],
        )
    trend_svg = await asyncio.to_thread(_trend_svg, trend.groups)
    return _render(
        "index.html.j2",
        role=key.role,
        now=local_now.strftime("%Y-%m-%d %H:%M"),
        stats=figures,
        columns=report.CASE_COLUMNS,
        rectification_columns=report.RECTIFICATION_COLUMNS,
        label=report.group_label,
        warnings=views.warning_lists(warning_rows, now=now),
        rectifications=rectifications,
        trend_chart=report.svg_uri(trend_svg),
        complaints=[
            views.complaint(
                {**r, "content": reveal(app[VAULT], r["content"], field=WAP_COMPLAINTS_CONTENT)}, tz
            )
            for r in complaint_rows
        ],
        projects=projects,
        calendar_banner=calendar.banner(),
        last_month=report.previous_month(local_now.date()),
        csrf=_csrf(request),
    )


async def _record_shown(
    request: web.Request,
    conn: asyncpg.Connection,
    key: ApiKey,
    *,
    page: str,
    case_nos: list[str],
) -> None:
    """The page showed applicants' words (their complaints) about these cases: one
    ``supervise.read`` row of the access log for the view (hub/privacy/access.py)."""
    if not case_nos:
        return
    await record_cases_shown(
        conn,
        at=request.app[CLOCK].now(),
        role=str(key.role),
        actor=actor_of(key),
        action=SUPERVISE_READ,
        subject=request.path,
        detail={"via": "supervise", "page": page},
        case_nos=case_nos,
    )


def _csrf(request: web.Request) -> str | None:
    """A form token bound to this sign-in (the cookie is SameSite=Strict as well)."""
    sid = request.cookies.get(COOKIE)
    return form_token(request.app, "supervise_form", sid) if sid else None


@routes.post("/supervise/cases/{case_no}/urge")
@_signed_in
async def urge(request: web.Request, key: ApiKey) -> web.Response:
    """A supervisor's 催办 from the page: queued to the case's current assignees, audited."""
    form = await request.post()
    token = form.get("csrf")
    sid = request.cookies.get(COOKIE, "")
    if not isinstance(token, str) or not form_token_ok(request.app, "supervise_form", sid, token):
        return _html("<!DOCTYPE html><title>403</title><p>表单已过期，请刷新页面后重试。</p>", 403)
    app = request.app
    case_no = request.match_info["case_no"]
    async with app[POOL].acquire() as conn:
        try:
            urged = await urge_case(
                conn,
                app[ROUTING],
                case_no,
                by="电子监察",
                note="",
                now=app[CLOCK].now(),
                max_attempts=app[SETTINGS].policy.max_attempts,
                audit_as=(key.role, "supervise page"),
            )
        except NothingToUrge:
            urged = None
    if urged is None:
        return _not_found("没有可催办的环节。")
    raise web.HTTPSeeOther(f"/supervise/urges/{urged.urge_id}", headers=_HEADERS)


@routes.get(r"/supervise/urges/{urge_id:\d{1,18}}")
@_signed_in
async def urged(request: web.Request, key: ApiKey) -> web.Response:
    """What a 催办 queued: to whom, by which channel, and when it will be sent (and why then)."""
    app = request.app
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch(Q["urge_confirmation"], int(request.match_info["urge_id"]))
    if not rows:
        return _not_found("没有这次催办。")
    return _render("urged.html.j2", **urge_confirmation(rows, app[ROUTING], now=app[CLOCK].now()))


@routes.get("/supervise/projects/{project_id}")
@_signed_in
async def project(request: web.Request, key: ApiKey) -> web.Response:
    """One investment project's approvals across departments: state, dates, level."""
    app = request.app
    tz = app[SETTINGS].calendar.tz
    now = app[CLOCK].now()
    project_id = request.match_info["project_id"]
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch(Q["project_cases"], project_id)
        raw = rows[0]["project"] if rows else None
        info = json.loads(raw) if isinstance(raw, str) else raw
        manager_id = str((info or {}).get("manager") or "")
        # The project manager by name, as people read it; the id only if none is on record.
        manager_name = await conn.fetchval(Q["wap_person_name"], manager_id) if manager_id else None
    if not rows:
        return _not_found("没有这个项目。")
    cases = [views.project_case(row, now=now, tz=tz) for row in rows]
    return _render(
        "project.html.j2",
        project_id=project_id,
        name=(info or {}).get("name") or project_id,
        manager=manager_name or manager_id or None,
        cases=cases,
        done=sum(1 for c in cases if c["completed"]),
    )


@routes.get("/supervise/reports/{month}")
@_signed_in
async def monthly_report(request: web.Request, key: ApiKey) -> web.Response:
    """The monthly report page, computed now for ``YYYY-MM``."""
    app = request.app
    month = request.match_info["month"]
    try:
        stats.month_period(month)
    except ValueError:
        return _not_found("月份应为 YYYY-MM。")
    async with app[POOL].acquire() as conn:
        built = await report.build_report(
            conn, month, now=app[CLOCK].now(), tz=app[SETTINGS].calendar.tz, vault=app[VAULT]
        )
    return _html(built.html)


ACCESS_LOG_ROWS = 200


@routes.get("/supervise/access-log")
@_signed_in
async def access_log(request: web.Request, key: ApiKey) -> web.Response:
    """Who read which case's personal data, newest first, of the caller's departments.

    A supervisor sees the departments of its key's scope (hub/privacy/access.py); asking
    for another one, or holding a key bound to none, gets a page that says so (403).
    """
    app = request.app
    department = request.query.get("department", "").strip()[:64] or None
    tz = app[SETTINGS].calendar.tz
    async with app[POOL].acquire() as conn:
        scope = await scope_of(conn, key)
        refusal = _access_log_refusal(scope, department)
        rows = (
            []
            if refusal
            else await conn.fetch(
                Q["access_log_page"], department, ACCESS_LOG_ROWS, scope.only(), list(READS)
            )
        )
    template = templates.environment().get_template("access_log.html.j2")
    page = template.render(
        department=department,
        limit=ACCESS_LOG_ROWS,
        everywhere=scope.everywhere,
        allowed=scope.only() or [],
        refusal=refusal,
        rows=[views.access_log_row(r, visible_detail(r["detail"], scope), tz) for r in rows],
    )
    return _html(page, 403 if refusal else 200)


def _access_log_refusal(scope: Scope, department: str | None) -> str | None:
    """Why the caller may not see this log (a sentence for the page), or None."""
    if scope.everywhere:
        return None
    if not scope.departments:
        return (
            "此密钥未绑定任何部门，不能查看访问记录。请管理员在 [auth] api_keys 中为它设置 "
            'departments（["*"] 为全中心）或 person。'
        )
    if department is not None and not scope.allows(department):
        return f"您无权查看部门 {department} 的访问记录。"
    return None
