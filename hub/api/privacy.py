"""``/v1/privacy/subjects/{mobile}``: export (GET) and erase (DELETE) what is held about a number.

Admin only, both audited (hub/privacy/subjects.py). Erasure while the number has a case
still being handled answers 409 with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hub.api.auth import ACTOR_KEY, ROLE_KEY
from hub.api.jsonio import respond
from hub.api.views import local
from hub.keys import CLOCK, POOL, SETTINGS, VAULT
from hub.privacy.subjects import Actor, erase_subject, export_subject

routes = web.RouteTableDef()

SUBJECT = "/v1/privacy/subjects/{mobile}"


def _shown(value: Any, tz: ZoneInfo) -> Any:
    """Instants as local ISO-8601, everywhere in the export."""
    if isinstance(value, datetime):
        return local(value, tz)
    if isinstance(value, dict):
        return {k: _shown(v, tz) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v, tz) for v in value]
    return value


def _actor(request: web.Request) -> Actor:
    return Actor(role=request[ROLE_KEY], name=request[ACTOR_KEY])


@routes.get(SUBJECT)
async def export(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        found = await export_subject(
            conn,
            request.app[VAULT],
            request.match_info["mobile"],
            actor=_actor(request),
            now=request.app[CLOCK].now(),
        )
    return respond(_shown(found, request.app[SETTINGS].calendar.tz))


@routes.delete(SUBJECT)
async def erase(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        done = await erase_subject(
            conn,
            request.app[VAULT],
            request.match_info["mobile"],
            actor=_actor(request),
            now=request.app[CLOCK].now(),
        )
    return respond(done.as_json())
