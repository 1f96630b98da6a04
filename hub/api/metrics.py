"""``GET /metrics`` and the count of every HTTP request answered, by route pattern."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from hub.keys import CALENDAR, CLOCK, METRICS, POOL, SETTINGS
from hub.metrics import CONTENT_TYPE
from hub.supervision.calendar_status import calendar_status

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_of(request: web.Request) -> str:
    """The matched route's pattern (``/v1/cases/{case_no}``): a label with few values.

    A path no route matches is counted as ``unmatched``, never as itself (a scan
    of random paths must not grow the metrics without end).
    """
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: every answer counts, errors turned into pages included."""
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[METRICS].inc(
            "cuiban_http_requests_total",
            route=route_of(request),
            method=request.method,
            status=str(status),
        )


_CALENDAR_GAUGES = """\
# HELP cuiban_calendar_year_missing 1 while a year's official calendar is due and missing.
# TYPE cuiban_calendar_year_missing gauge
cuiban_calendar_year_missing{{year="{year}"}} {missing}
# HELP cuiban_calendar_open_provisional_cases Open cases dated on a provisional year.
# TYPE cuiban_calendar_open_provisional_cases gauge
cuiban_calendar_open_provisional_cases {count}
"""


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text exposition (contract: ``GET /metrics``)."""
    app = request.app
    body = app[METRICS].render()
    try:
        async with app[POOL].acquire(timeout=2) as conn:
            status = await calendar_status(
                conn, app[CALENDAR], app[SETTINGS].calendar, app[CLOCK].now()
            )
        gauges = _CALENDAR_GAUGES.format(
            year=status.year,
            missing=int(status.warning),
            count=status.open_provisional_cases,
        )
        body = body.rstrip(b"\n") + b"\n" + gauges.encode()
    except Exception as exc:  # the counters still answer while the database is away
        log.warning("calendar_gauges_unavailable", error=str(exc))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
