"""``POST /v1/cases/{case_no}/urge``: a supervisor's 催办 to the current assignees, counted."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from core.notices import NoticeKind
from hub.api import _respond, read_json
from hub.auth import allow
from hub.keys import CLOCK, PLANNER, POOL, SETTINGS
from hub.outbox import Notice, enqueue
from hub.problems import Problem
from hub.queries import Q
from hub.recipients import People, unique

routes = web.RouteTableDef()


class UrgeIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    note: Annotated[str, StringConstraints(max_length=500)] = ""


@routes.post("/v1/cases/{case_no}/urge")
@allow("supervisor")
async def urge(request: web.Request) -> web.Response:
    body = UrgeIn.model_validate(await read_json(request))
    case_no = request.match_info["case_no"]
    app = request.app
    now = app[CLOCK].now()
    planner = app[PLANNER]
    async with app[POOL].acquire() as conn, conn.transaction():
        case = await conn.fetchrow(Q["lock_case_for_urge"], case_no)
        if case is None:
            raise Problem(404, f"no case {case_no!r}")
        nodes = await conn.fetch(Q["open_nodes_of_case"], case_no)
        if not nodes:
            raise Problem(409, f"case {case_no!r} has no open node to urge")
        urge_id = await conn.fetchval(Q["insert_urge"], case_no, body.by, body.note, now)
        await conn.execute(Q["count_urge"], case_no, [n["node_id"] for n in nodes])
        people = await People.load(
            conn, [n["assignee_id"] for n in nodes] + [body.by], planner.routing
        )
        context = planner.case_context(case, now) | {
            "by_name": people.name(body.by),
            "note": body.note,
        }
        notices = []
        for node in nodes:
            for person_id in unique([node["assignee_id"]]):
                who = people.recipient(person_id, now)
                notices.append(
                    Notice(
                        kind=NoticeKind.URGE,
                        dedupe_key=f"urge:{urge_id}:{node['node_id']}:{who.person_id}",
                        addresses=who.addresses,
                        context=context
                        | {
                            "node_name": node["name"],
                            "link": planner.routing.inbox_link(who.person_id, now),
                        },
                        not_before=planner.routing.reviewer_time(now, who.quiet),
                        case_no=case_no,
                        node_id=node["node_id"],
                        person_id=who.person_id,
                        note=who.note,
                    )
                )
        queued = await enqueue(
            conn, notices, now=now, max_attempts=app[SETTINGS].policy.max_attempts
        )
    return _respond(
        {"urge_id": urge_id, "nodes": [n["node_id"] for n in nodes], "notices": queued},
        status=202,
    )
