"""Large text (适老化) for the WAP pages: a link in every page's header, a cookie, no script.

The national guidelines for older users' access to public-service sites ask for a
larger-text mode. ``GET /wap/text?size=large&next=<page>`` sets a preference
cookie and returns to the page; each page then carries ``class="large"`` on its
``<html>`` and the stylesheet enlarges the text while keeping the one-column
layout inside a 360-pixel screen. A preference, not a secret: SameSite=Lax so it
also holds on pages opened from an SMS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp import web

__all__ = ["COOKIE", "View", "current", "routes", "text_size_middleware"]

COOKIE = "cuiban_text"
ONE_YEAR = 365 * 86400
routes = web.RouteTableDef()


@dataclass(frozen=True)
class View:
    """What every page's frame needs to know of the request: the text size and its own path."""

    large: bool = False
    here: str = "/wap/"


_view: ContextVar[View | None] = ContextVar("wap_view", default=None)


def current() -> View:
    """The frame of the page being rendered (the defaults outside a request)."""
    return _view.get() or View()


def _local(path: str) -> str:
    """``path`` if it is one of our pages, else the lookup page (no open redirect)."""
    if path.startswith("/wap/") and not path.startswith("/wap//") and "\\" not in path:
        return path
    return "/wap/"


@web.middleware
async def text_size_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith("/wap/"):
        # After a form post the toggle returns to the lookup: a POST cannot be repeated by a link.
        here = request.path_qs if request.method == "GET" else "/wap/"
        _view.set(View(large=request.cookies.get(COOKIE) == "large", here=_local(here)))
    return await handler(request)


@routes.get("/wap/text")
async def set_text_size(request: web.Request) -> web.Response:
    large = request.query.get("size") == "large"
    response = web.Response(status=303, headers={"Location": _local(request.query.get("next", ""))})
    if large:
        response.set_cookie(
            COOKIE, "large", max_age=ONE_YEAR, path="/wap/", httponly=True, samesite="Lax"
        )
    else:
        response.del_cookie(COOKIE, path="/wap/")
    return response
