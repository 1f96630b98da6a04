"""``POST /v1/cases/{case_no}/urge``: a supervisor's 催办 (hub/supervision/urges.py)."""

from __future__ import annotations

from aiohttp import web

from core.errors import NotFound
from hub.api.auth import ACTOR_KEY, ROLE_KEY, allow
from hub.api.jsonio import read_json, respond
from hub.keys import CLOCK, POOL, ROUTING, SETTINGS
from hub.supervision.urges import UrgeIn, urge_case

routes = web.RouteTableDef()


@routes.post("/v1/cases/{case_no}/urge")
@allow("supervisor")
async def urge(request: web.Request) -> web.Response:
    body = UrgeIn.model_validate(await read_json(request))
    case_no = request.match_info["case_no"]
    app = request.app
    async with app[POOL].acquire() as conn:
        # NothingToUrge is a Conflict: the problems middleware answers 409.
        urged = await urge_case(
            conn,
            app[ROUTING],
            case_no,
            by=body.by,
            note=body.note,
            now=app[CLOCK].now(),
            max_attempts=app[SETTINGS].policy.max_attempts,
            audit_as=(request[ROLE_KEY], request[ACTOR_KEY]),
        )
    if urged is None:
        raise NotFound(f"no case {case_no!r}")
    return respond(
        {"urge_id": urged.urge_id, "nodes": list(urged.nodes), "notices": urged.notices},
        status=202,
    )
