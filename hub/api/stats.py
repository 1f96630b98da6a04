"""``GET /v1/stats?from=&to=&group_by=department|matter|month``: the supervision figures."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub.api.auth import allow
from hub.api.problems import Problem
from hub.keys import CLOCK, POOL, SETTINGS
from hub.supervision import stats

__all__ = ["routes"]

routes = web.RouteTableDef()


def _respond(body: Any) -> web.Response:
    return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))


@routes.get("/v1/stats")
@allow("supervisor")
async def get_stats(request: web.Request) -> web.Response:
    """Figures for a period of local dates, in total and per group."""
    app = request.app
    tz = app[SETTINGS].calendar.tz
    now = app[CLOCK].now()
    q = request.query
    try:
        period, group_by = stats.parse_period(
            q.get("from"),
            q.get("to"),
            today=now.astimezone(tz).date(),
            group_by=q.get("group_by") or None,
        )
    except stats.StatsQueryError as exc:
        raise Problem(422, f"invalid query parameters: {exc}", errors=exc.errors) from None
    async with app[POOL].acquire() as conn:
        result = await stats.compute(conn, period, group_by=group_by, now=now, tz=tz)
    return _respond(result.as_json(tz))
