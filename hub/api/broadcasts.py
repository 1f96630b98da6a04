"""``/v1/broadcasts`` and ``/v1/lists``: 通知公告 over HTTP (hub/broadcasts/service.py)."""

from __future__ import annotations

from aiohttp import web

from hub.api.auth import ACTOR_KEY, ROLE_KEY, allow
from hub.api.jsonio import read_json, respond
from hub.api.problems import Problem
from hub.broadcasts import service
from hub.keys import CLOCK, POOL, ROUTING, SETTINGS, VAULT

routes = web.RouteTableDef()


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise Problem(404, f"no broadcast {raw!r}")
    return int(raw)


@routes.post("/v1/broadcasts")
async def post_broadcast(request: web.Request) -> web.Response:
    """Preview (``?dry_run=true``) or queue an announcement; 201 with its progress."""
    dry_run = request.query.get("dry_run", "false").lower()
    if dry_run not in ("true", "false", "1", "0"):
        raise Problem(
            422,
            "dry_run must be true or false",
            errors=[{"field": "dry_run", "message": "must be true or false"}],
        )
    body = service.BroadcastIn.model_validate(await read_json(request))
    if body.audience.empty():
        raise Problem(
            422,
            "the audience is empty; name departments, department_heads, applicants or lists",
            errors=[{"field": "audience", "message": "names nobody"}],
        )
    app = request.app
    settings = app[SETTINGS]
    now = app[CLOCK].now()
    channels = service.channels_used(body, app[ROUTING].enabled)
    if not channels:
        raise Problem(
            422,
            "none of the requested channels is enabled in this centre",
            errors=[{"field": "channels", "message": "no enabled channel"}],
        )
    context, parts = service.render_parts(body, channels, settings)
    async with app[POOL].acquire() as conn:
        await service.known_lists(conn, list(body.audience.lists))
        if dry_run in ("true", "1"):
            preview = await service.preview(conn, body, channels, parts, settings, now, app[VAULT])
            return respond(preview)
        broadcast_id, new = await service.create(
            conn,
            body,
            channels,
            context,
            parts,
            settings,
            now=now,
            actor=(request[ROLE_KEY], request[ACTOR_KEY]),
        )
        await service.expand(conn, broadcast_id, settings, now, app[VAULT])
        view = await service.progress(conn, broadcast_id, settings, app[CLOCK].now())
    assert view is not None
    view["warnings"] = service.warnings_for(parts, settings)
    return respond(view, status=201 if new else 200)


@routes.get("/v1/broadcasts/{id}")
@allow("supervisor")
async def get_broadcast(request: web.Request) -> web.Response:
    """A broadcast's progress: counts by status, start, estimated end."""
    app = request.app
    async with app[POOL].acquire() as conn:
        view = await service.progress(conn, _id(request), app[SETTINGS], app[CLOCK].now())
    if view is None:
        raise Problem(404, f"no broadcast {request.match_info['id']!r}")
    return respond(view)


@routes.post("/v1/broadcasts/{id}/cancel")
async def cancel_broadcast(request: web.Request) -> web.Response:
    """Cancel every queued row in one statement; rows being sent finish."""
    app = request.app
    async with app[POOL].acquire() as conn:
        view = await service.cancel(
            conn,
            _id(request),
            app[SETTINGS],
            now=app[CLOCK].now(),
            actor=(request[ROLE_KEY], request[ACTOR_KEY]),
        )
    return respond(view)


@routes.put("/v1/lists/{name}")
async def put_list(request: web.Request) -> web.Response:
    """Replace a subscriber list's mobiles and e-mail addresses."""
    body = service.ListIn.model_validate(await read_json(request))
    app = request.app
    async with app[POOL].acquire() as conn:
        view = await service.replace_list(
            conn,
            request.match_info["name"],
            body,
            app[SETTINGS],
            app[VAULT],
            now=app[CLOCK].now(),
            actor=(request[ROLE_KEY], request[ACTOR_KEY]),
        )
    return respond(view)


@routes.get("/v1/lists/{name}")
async def get_list(request: web.Request) -> web.Response:
    """A subscriber list's size (the addresses themselves are not echoed)."""
    async with request.app[POOL].acquire() as conn:
        view = await service.get_list(conn, request.match_info["name"], request.app[SETTINGS])
    return respond(view)
