"""What every page response carries, and what every form post and session rests on.

One module for both page families, ``/wap/`` and ``/supervise/``, built on the
keys of :mod:`hub.signing` (one per purpose):

* Security headers: a CSP with no script source at all (the pages need no
  JavaScript) and styles only from our own stylesheet; ``no-referrer`` so the
  signed token in the URL never leaks to another site; no framing; ``nosniff``;
  ``no-store`` on pages (they are personal).
* Form tokens (CSRF): a MAC of what the browser already holds — on ``/wap/`` a
  random cookie (``SameSite=Strict``, ``HttpOnly``), on ``/supervise/`` the
  session id — each with its own key (``wap_form``, ``supervise_form``). A forged
  post from another site has neither the cookie nor a token that matches it.
* Sessions: a random id in an ``HttpOnly``, ``SameSite=Strict`` cookie; the
  database keeps only its MAC (``wap_session``, ``supervise_session``), so a
  stolen table opens nothing, and logging out deletes the row.
* Errors under ``/wap/`` are HTML pages in Chinese, not problem+json.
* Keyed MACs (:func:`mac`) stand in for client addresses, case numbers and
  mobiles wherever the database keeps a key for rate limits.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import structlog
from aiohttp import web

from hub.api.problems import client_gone
from hub.keys import KEYRING, SETTINGS
from hub.pages.render import message_page
from hub.signing import Purpose
from hub.store.db import DatabaseUnavailable
from hub.store.queries import Q

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSRF_COOKIE = "wap_csrf"
CSRF_FIELD = "csrf"
_NEW_CSRF = web.RequestKey("wap_new_csrf", str)

# No script-src: default-src 'none' forbids every script, inline or not.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATIC_CACHE = "public, max-age=604800"


class CsrfRefused(web.HTTPForbidden):
    """The form's CSRF token does not match this browser's cookie."""


def mac(app: web.Application, purpose: Purpose, value: str) -> str:
    """A keyed MAC of ``value`` for one ``purpose``: safe to store, useless to reverse."""
    return app[KEYRING].text_mac(purpose, value)


def new_session_id() -> str:
    """A session id for a cookie: 192 random bits."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, kw_only=True)
class SessionTable:
    """The sessions of one page family, kept in the table its ``purpose`` names.

    A row holds the MAC of the cookie's id (keyed for ``purpose``), what the session
    stands for (``holder``: a sealed mobile, a key's fingerprint) and its expiry.
    """

    purpose: Literal["wap_session", "supervise_session"]
    lifetime: timedelta

    async def open(
        self, app: web.Application, conn: asyncpg.Connection, holder: str, *, now: datetime
    ) -> str:
        """A new session for ``holder``: the cookie's value. Expired rows go at the same time."""
        sid = new_session_id()
        await conn.execute(Q[f"{self.purpose}_purge"], now)
        await conn.execute(
            Q[f"{self.purpose}_insert"],
            mac(app, self.purpose, sid),
            holder,
            now,
            now + self.lifetime,
        )
        return sid

    async def holder(
        self, app: web.Application, conn: asyncpg.Connection, sid: str | None, *, now: datetime
    ) -> str | None:
        """What a live session holds; None when the id is odd, unknown, ended or expired."""
        if not sid or len(sid) > 64:
            return None
        found: str | None = await conn.fetchval(
            Q[f"{self.purpose}_get"], mac(app, self.purpose, sid), now
        )
        return found

    async def close(self, app: web.Application, conn: asyncpg.Connection, sid: str) -> None:
        """End the session wherever its cookie may have been copied to."""
        await conn.execute(Q[f"{self.purpose}_delete"], mac(app, self.purpose, sid))

    @property
    def max_age(self) -> int:
        """The cookie's Max-Age: the session's lifetime in seconds."""
        return int(self.lifetime.total_seconds())


def form_token(app: web.Application, purpose: Purpose, binding: str) -> str:
    """The token a form of one page family carries, bound to what the browser holds."""
    return mac(app, purpose, binding)


def form_token_ok(app: web.Application, purpose: Purpose, binding: str, offered: str) -> bool:
    """Whether ``offered`` is the form token for ``binding`` (constant time)."""
    return bool(binding) and app[KEYRING].text_mac_ok(purpose, binding, offered)


def secure_cookies(app: web.Application) -> bool:
    return app[SETTINGS].http.public_base_url.startswith("https://")


def _cookie_value(request: web.Request) -> str:
    value = request.cookies.get(CSRF_COOKIE, "")
    return value if 16 <= len(value) <= 64 else ""


def csrf_token(request: web.Request) -> str:
    """The token for this browser's forms; sets the cookie on the response if it has none."""
    cookie = _cookie_value(request) or request.get(_NEW_CSRF, "")
    if not cookie:
        cookie = secrets.token_urlsafe(18)
        request[_NEW_CSRF] = cookie
    return form_token(request.app, "wap_form", cookie)


def check_csrf(request: web.Request, form: dict[str, str]) -> None:
    """Refuse a post whose token is missing or is not this browser's."""
    cookie = _cookie_value(request)
    offered = form.get(CSRF_FIELD, "")
    if not form_token_ok(request.app, "wap_form", cookie, offered):
        log.info("wap_csrf_refused", path=request.path)
        raise CsrfRefused


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int,
    *,
    path: str = "/wap/",
) -> None:
    """A page cookie: HttpOnly, SameSite=Strict, Secure behind https, scoped to its pages."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request.app),
    )


def _finish(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(HEADERS)
    if request.path.startswith("/wap/static/") and response.status == 200:
        response.headers["Cache-Control"] = STATIC_CACHE
    else:
        response.headers["Cache-Control"] = "no-store"
    new_cookie = request.get(_NEW_CSRF)
    if new_cookie:
        set_cookie(request, response, CSRF_COOKIE, new_cookie, max_age=86400)
    return response


_TITLES = {
    400: ("无法处理", "提交的内容无法识别，请返回重新填写。"),
    403: ("页面已过期", "页面已过期或来源无法确认，请返回上一页刷新后重新提交。"),
    404: ("页面不存在", "您访问的页面不存在。"),
    405: ("无法处理", "请从页面上的按钮提交。"),
    413: ("内容过长", "提交的内容过长，请精简后重试。"),
}


@web.middleware
async def wap_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers on every ``/wap`` response; errors there as HTML pages, never a stack trace."""
    if request.path != "/wap" and not request.path.startswith("/wap/"):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            _finish(request, exc)
            raise
        title, text = _TITLES.get(exc.status, ("无法处理", "请求无法处理，请稍后再试。"))
        response = message_page(title, text, status=exc.status)
    except (DatabaseUnavailable, asyncpg.CannotConnectNowError, ConnectionError, OSError) as exc:
        if client_gone(request, exc):
            raise  # nobody is left to answer
        log.warning("database_unavailable", error=str(exc), path=request.path)
        response = message_page("系统繁忙", "系统暂时无法访问，请稍后再试。", status=503)
        response.headers["Retry-After"] = "5"
    except Exception:
        log.exception("wap_unhandled_error", path=request.path, method=request.method)
        response = message_page("系统错误", "系统出现错误，已记录，请稍后再试。", status=500)
    return _finish(request, response)
