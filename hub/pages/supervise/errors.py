"""Errors under ``/supervise/`` as HTML pages, never problem+json on a page a person reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

import asyncpg
import structlog
from aiohttp import web

from core.errors import Conflict, InputError, NotFound
from hub.api.problems import client_gone
from hub.store.db import DatabaseUnavailable

__all__ = ["supervise_errors_middleware"]

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}
_WORDS = {
    400: "请求无法识别。",
    404: "页面不存在。",
    405: "请从页面上的按钮提交。",
    413: "提交的内容过长。",
    422: "查询参数有误。",
}


def html(text: str, status: int, headers: dict[str, str]) -> web.Response:
    """An HTML page in UTF-8 with exactly ``headers`` (each caller's security headers)."""
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=headers
    )


def error_page(status: int, text: str, *, headers: dict[str, str] | None = None) -> web.Response:
    body = (
        f'<!DOCTYPE html><html lang="zh-CN"><meta charset="utf-8"><title>{status}</title>'
        f'<p>{escape(text)}</p><p><a href="/supervise/">返回电子监察</a></p></html>'
    )
    return html(body, status, _HEADERS | (headers or {}))


@web.middleware
async def supervise_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under ``/supervise/``: HTTP errors and failures become short HTML pages."""
    if not request.path.startswith("/supervise"):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_page(exc.status, _WORDS.get(exc.status, "请求无法处理。"))
    except InputError as exc:
        return error_page(422, f"查询参数有误：{exc}")
    except NotFound:
        return error_page(404, _WORDS[404])
    except Conflict as exc:
        return error_page(409, f"无法办理：{exc}")
    except (DatabaseUnavailable, asyncpg.CannotConnectNowError, ConnectionError, OSError) as exc:
        if client_gone(request, exc):
            raise  # nobody is left to answer
        log.warning("database_unavailable", error=str(exc), path=request.path)
        return error_page(503, "系统暂时无法访问，请稍后再试。", headers={"Retry-After": "5"})
    except Exception:
        log.exception("supervise_unhandled_error", path=request.path, method=request.method)
        return error_page(500, "系统出现错误，已记录，请稍后再试。")
