"""The supervision templates (``templates/supervise``): the monthly report and the pages.

One HTML-escaped Jinja environment for both, so the report read on
``/supervise/reports/{month}`` and the e-mailed file are the same text, and the
figures print alike everywhere (``pct``: 75.0%, ``num``; "—" for nothing to show).
"""

from __future__ import annotations

from functools import cache

import jinja2

__all__ = ["environment"]


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("templates", "supervise"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.1f}%"
    env.filters["num"] = lambda v: "—" if v is None else v
    return env
