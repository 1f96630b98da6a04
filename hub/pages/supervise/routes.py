"""``/supervise/``: the read-only supervision pages (电子监察) for desktop and phone.

Keys never travel in URLs. A supervisor (or admin) signs in once on a small form;
the page then rides on an HttpOnly, SameSite=Strict session cookie signed with
``auth.link_secret`` (8 hours). An ``Authorization: Bearer`` header works too,
for scripts. Ingest keys are refused with 403.

* ``/supervise/``: live yellow/red lists per department, the stats table for a
  period, a six-month trend chart, complaints received, investment projects.
* ``/supervise/projects/{id}``: every approval of one project across departments.
* ``/supervise/reports/{YYYY-MM}``: the monthly report (:mod:`hub.supervision.report`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from html import escape
from typing import Any

from aiohttp import web

from core.levels import LEVEL_WORDS, Level
from hub.api.auth import role_for
from hub.api.views import row_level
from hub.keys import CLOCK, POOL, ROUTING, SETTINGS
from hub.store.queries import Q
from hub.supervision import charts, report, stats
from hub.supervision.urges import NothingToUrge, urge_case

__all__ = ["COOKIE", "routes", "session_cookie", "session_role"]

routes = web.RouteTableDef()

COOKIE = "cuiban_supervise"
SESSION_SECONDS = 8 * 3600
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
STATUS_WORDS = {
    "pending": "待受理",
    "applied": "已申请",
    "accepted": "办理中",
    "decided": "已决定",
    "ready_for_pickup": "待领取",
    "picked_up": "已领取",
    "closed": "已办结",
    "withdrawn": "已撤回",
}
MAX_LIST = 500


def _mac(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, b"supervise|" + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def session_cookie(secret: bytes, role: str, *, now: float | None = None) -> str:
    """A signed ``role.expiry.mac`` session value (expiry in Unix seconds)."""
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    payload = f"{role}.{expires}"
    return f"{payload}.{_mac(secret, payload)}"


def session_role(secret: bytes, value: str | None, *, now: float | None = None) -> str | None:
    """The role a session cookie grants, or None when it is forged, expired or malformed."""
    if not value or value.count(".") != 2:
        return None
    role, expires, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(secret, f"{role}.{expires}")):
        return None
    if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
        return None
    return role if role in _PAGE_ROLES else None


def _secret(request: web.Request) -> bytes:
    return request.app[SETTINGS].auth.link_secret.get_secret_value().encode()


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=_HEADERS | (headers or {}),
    )


def _login_page(message: str | None, status: int) -> web.Response:
    page = report.templates().get_template("login.html.j2").render(message=message)
    return _html(page, status)


def _role(request: web.Request) -> str | web.Response:
    """The caller's role; else the response to send: a refusal (403) or the way to sign in."""
    header = request.headers.get("Authorization")
    if header:
        role = role_for(header, request.app[SETTINGS].auth.api_keys)
        if role in _PAGE_ROLES:
            return str(role)
        if role is not None:
            return _login_page(f"角色为 {role} 的密钥不能查看电子监察页面。", 403)
        return _login_page("密钥不正确。", 401)
    session = session_role(_secret(request), request.cookies.get(COOKIE))
    if session is None:
        raise web.HTTPSeeOther("/supervise/login", headers=_HEADERS)
    return session


@routes.get("/supervise/login")
async def login_form(request: web.Request) -> web.Response:
    return _login_page(None, 200)


@routes.post("/supervise/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    key = form.get("key")
    if not isinstance(key, str) or not key.strip():
        return _login_page("请输入密钥。", 401)
    role = role_for(f"Bearer {key.strip()}", request.app[SETTINGS].auth.api_keys)
    if role is None:
        return _login_page("密钥不正确。", 401)
    if role not in _PAGE_ROLES:
        return _login_page(f"角色为 {role} 的密钥不能查看电子监察页面。", 403)
    response = web.HTTPSeeOther("/supervise/", headers=_HEADERS)
    response.set_cookie(
        COOKIE,
        session_cookie(_secret(request), role),
        max_age=SESSION_SECONDS,
        path="/supervise",
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].http.public_base_url.startswith("https://"),
    )
    raise response


@routes.post("/supervise/logout")
async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/supervise/login", headers=_HEADERS)
    response.del_cookie(COOKIE, path="/supervise")
    raise response


def _day(instant: datetime | None, tz: Any) -> str | None:
    return instant.astimezone(tz).strftime("%Y-%m-%d") if instant else None


def _months_back(today: datetime, count: int) -> stats.Period:
    first = today.date().replace(day=1)
    for _ in range(count - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return stats.Period(first=first, last=today.date())


def _trend_svg(groups: list[stats.Group]) -> str:
    def series(zh: str, en: str, values: list[float | None]) -> charts.Series:
        return charts.Series(name=charts.Label(zh, en), values=values)

    return charts.bar_chart_svg(
        [charts.Label(g.key or "", g.key or "") for g in groups],
        [
            series("受理", "Accepted", [float(g.figures.accepted) for g in groups]),
            series("办结", "Closed", [float(g.figures.closed) for g in groups]),
            series("超期办结", "Closed late", [float(g.figures.late) for g in groups]),
            series("在办超期", "Open overdue", [float(g.figures.open_overdue) for g in groups]),
        ],
        title=charts.Label("月度趋势", "Monthly trend"),
        width=9.0,
        height=3.4,
    )


@routes.get("/supervise/")
async def page(request: web.Request) -> web.Response:
    """The supervision page."""
    role = _role(request)
    if isinstance(role, web.Response):
        return role
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
    warnings: dict[str, list[dict[str, Any]]] = {"red": [], "yellow": []}
    for row in warning_rows:
        level = row_level(row, now=now)
        if level in (Level.RED, Level.YELLOW):
            warnings[str(level)].append(
                {
                    "department": row["department_name"] or row["department_code"],
                    "case_no": row["case_no"],
                    "matter": row["matter_name"] or row["matter_code"],
                    "due_date": row["due_date"],
                    "suspended": row["suspended_since"] is not None,
                    "urges": row["urges"],
                }
            )
    trend_svg = await asyncio.to_thread(_trend_svg, trend.groups)
    page = (
        report.templates()
        .get_template("index.html.j2")
        .render(
            role=role,
            now=local_now.strftime("%Y-%m-%d %H:%M"),
            stats=figures,
            columns=report.CSV_COLUMNS,
            label=report._label,
            warnings=warnings,
            trend_chart=report.svg_uri(trend_svg),
            complaints=[
                {
                    "at": r["created_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    "case_no": r["case_no"],
                    "matter": r["matter"],
                    "content": r["content"],
                }
                for r in complaint_rows
            ],
            projects=projects,
            last_month=report.previous_month(local_now.date()),
            csrf=_csrf(request),
        )
    )
    return _html(page)


def _csrf(request: web.Request) -> str | None:
    """A form token bound to this sign-in (the cookie is SameSite=Strict as well)."""
    cookie = request.cookies.get(COOKIE)
    return _mac(_secret(request), f"csrf|{cookie}") if cookie else None


@routes.post("/supervise/cases/{case_no}/urge")
async def urge(request: web.Request) -> web.Response:
    """A supervisor's 催办 from the page: queued to the case's current assignees, audited."""
    role = _role(request)
    if isinstance(role, web.Response):
        return role
    form = await request.post()
    expected = _csrf(request)
    token = form.get("csrf")
    if expected is None or not isinstance(token, str) or not hmac.compare_digest(token, expected):
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
                audit_as=(role, "supervise page"),
            )
        except NothingToUrge:
            urged = None
    if urged is None:
        return _html("<!DOCTYPE html><title>404</title><p>没有可催办的环节。</p>", 404)
    raise web.HTTPSeeOther("/supervise/", headers=_HEADERS)


@routes.get("/supervise/projects/{project_id}")
async def project(request: web.Request) -> web.Response:
    """One investment project's approvals across departments: state, dates, level."""
    role = _role(request)
    if isinstance(role, web.Response):
        return role
    app = request.app
    tz = app[SETTINGS].calendar.tz
    now = app[CLOCK].now()
    project_id = request.match_info["project_id"]
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch(Q["project_cases"], project_id)
    if not rows:
        return _html("<!DOCTYPE html><title>404</title><p>没有这个项目。</p>", 404)
    cases = []
    for row in rows:
        level = row_level(row, now=now)
        cases.append(
            {
                "department": row["department_name"] or row["department_code"],
                "matter": row["matter_name"] or row["matter_code"],
                "case_no": row["case_no"],
                "status": STATUS_WORDS.get(row["status"], row["status"])
                + ("（中止）" if row["suspended_since"] and not row["completed_at"] else ""),
                "node": row["current_node"],
                "accepted": _day(row["accepted_at"], tz),
                "due_date": row["due_date"],
                "completed": _day(row["completed_at"], tz),
                "level": str(level) if level else "",
                "level_text": LEVEL_WORDS[level] if level else "期限未知",
            }
        )
    info = (
        json.loads(rows[0]["project"])
        if isinstance(rows[0]["project"], str)
        else rows[0]["project"]
    )
    page = (
        report.templates()
        .get_template("project.html.j2")
        .render(
            project_id=project_id,
            name=(info or {}).get("name") or project_id,
            manager=(info or {}).get("manager"),
            cases=cases,
            done=sum(1 for c in cases if c["completed"]),
        )
    )
    return _html(page)


@routes.get("/supervise/reports/{month}")
async def monthly_report(request: web.Request) -> web.Response:
    """The monthly report page, computed now for ``YYYY-MM``."""
    role = _role(request)
    if isinstance(role, web.Response):
        return role
    app = request.app
    month = request.match_info["month"]
    try:
        stats.month_period(month)
    except ValueError:
        return _html("<!DOCTYPE html><title>404</title><p>月份应为 YYYY-MM。</p>", 404)
    async with app[POOL].acquire() as conn:
        built = await report.build_report(
            conn, month, now=app[CLOCK].now(), tz=app[SETTINGS].calendar.tz
        )
    return _html(built.html)
