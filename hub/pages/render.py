"""The WAP pages' HTML: one autoescaped Jinja environment over ``templates/wap_pages``.

Kept apart from the notice templates (``channels.render``), which are mostly
plain text and not autoescaped: everything a page shows comes from people
(names, reasons, comments) and may hold markup, so here escaping is the default
and ``StrictUndefined`` turns a typo into a failing test.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
from aiohttp import web

from hub.pages.wap import text_size

CSS_PATH = "/wap/static/wap.css"


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("templates", "wap_pages"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> bytes:
    """The one small stylesheet every page links (no inline styles, so the CSP stays strict)."""
    return importlib.resources.files("hub.pages").joinpath("static", "wap.css").read_bytes()


@cache
def css_url() -> str:
    # The content hash in the URL lets phones cache the file for long and still see changes.
    return f"{CSS_PATH}?v={hashlib.sha256(stylesheet()).hexdigest()[:10]}"


def render(template: str, context: Mapping[str, Any]) -> str:
    frame = {"css_url": css_url(), "view": text_size.current()}
    return environment().get_template(template).render({**frame, **context})


def page(
    template: str, context: Mapping[str, Any], *, status: int = 200, headers: Any = None
) -> web.Response:
    return web.Response(
        status=status,
        text=render(template, context),
        content_type="text/html",
        charset="utf-8",
        headers=headers,
    )


def message_page(title: str, text: str, *, status: int) -> web.Response:
    """A short page for errors and dead ends, with a way back to the lookup."""
    return page("message.html.j2", {"title": title, "text": text}, status=status)
