"""``GET /metrics`` and the count of every HTTP request answered, by route pattern."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from hub.keys import METRICS
from hub.metrics import CONTENT_TYPE

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


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text exposition (contract: ``GET /metrics``)."""
    return web.Response(body=request.app[METRICS].render(), headers={"Content-Type": CONTENT_TYPE})
