"""``/v1/rectifications``: 差评整改 — list and read (admin, supervisor); verify and close (admin).

The service's errors become problems in the middleware: unknown id 404, a step already
taken 409, a reply too long for the applicant's SMS 422.

GET  /v1/rectifications?status=&department=&cursor=&limit=
GET  /v1/rectifications/{id}
POST /v1/rectifications/{id}/verify   {by, finding}            回访核实
POST /v1/rectifications/{id}/close    {by, outcome, reply}     the reply is texted to the applicant
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from core.levels import LEVEL_WORDS
from hub.api import paging
from hub.api.audit import record_request_cases
from hub.api.auth import ACTOR_KEY, ROLE_KEY, allow
from hub.api.jsonio import read_json, respond
from hub.api.problems import Problem
from hub.api.views import local
from hub.keys import CLOCK, POOL, ROUTING, SETTINGS, VAULT
from hub.privacy.access import RECTIFICATIONS_READ
from hub.rectifications import service
from hub.rectifications.model import OUTCOME_WORDS, STATUSES, Rectification
from hub.store.queries import Q

__all__ = ["rectification_json", "routes"]

routes = web.RouteTableDef()

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class VerifyIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    finding: _Text


class CloseIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    outcome: Literal["rectified", "explained", "unfounded"]
    reply: _Text


def rectification_json(rect: Rectification, *, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """One rectification as the API shows it (contract fields first)."""
    level = rect.level(now)
    return {
        "id": rect.id,
        "case_no": rect.case_no,
        "department": rect.department_code,
        "rating": rect.rating,
        "comment": rect.comment,
        "status": rect.status,
        "verify_due_at": local(rect.verify_due_at, tz),
        "rectify_due_at": local(rect.rectify_due_at, tz),
        "level": str(level) if level else None,
        "verified_at": local(rect.verified_at, tz),
        "closed_at": local(rect.closed_at, tz),
        "outcome": rect.outcome,
        "reply": rect.reply,
        "level_text": LEVEL_WORDS[level] if level else None,
        "department_name": rect.department_name,
        "matter": rect.matter_name,
        "head": rect.head,
        "opened_at": local(rect.opened_at, tz),
        "verify_due_date": rect.verify_due_date.isoformat() if rect.verify_due_date else None,
        "rectify_due_date": rect.rectify_due_date.isoformat() if rect.rectify_due_date else None,
        "verified_by": rect.verified_by,
        "finding": rect.finding,
        "closed_by": rect.closed_by,
        "outcome_text": OUTCOME_WORDS[rect.outcome] if rect.outcome else None,
        "provisional": rect.provisional,
    }


def _id(request: web.Request) -> int:
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Problem(404, f"no rectification {text!r}; ids are whole numbers")
    return int(text)


async def _record_read(
    request: web.Request, conn: asyncpg.Connection, case_nos: list[str], subject: str
) -> None:
    """Rectifications show the applicants' comments: one access-log row per request."""
    if not case_nos:
        return
    await record_request_cases(
        conn,
        request,
        action=RECTIFICATIONS_READ,
        subject=subject,
        detail={"via": "api", "rectifications": len(case_nos)},
        case_nos=case_nos,
    )


@routes.get("/v1/rectifications")
@allow("supervisor")
async def list_rectifications(request: web.Request) -> web.Response:
    query = request.query
    errors: paging.Errors = []
    status = paging.choice(query, "status", STATUSES, errors)
    limit = paging.page_size(query, errors, default=50, maximum=500)
    department = query.get("department") or None
    if department is not None and len(department) > 64:
        errors.append({"field": "department", "message": "at most 64 characters"})
    paging.check(errors)
    cursor = query.get("cursor")
    before = paging.decode_id_cursor("r", cursor) if cursor else None
    app = request.app
    now, tz = app[CLOCK].now(), app[SETTINGS].calendar.tz
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch(Q["list_rectifications"], status, department, before, limit + 1)
        await _record_read(
            request, conn, [str(r["case_no"]) for r in rows[:limit]], "rectifications"
        )
    return respond(
        paging.items_page(
            [Rectification.from_row(r, app[VAULT]) for r in rows],
            limit,
            lambda r: rectification_json(r, now=now, tz=tz),
            prefix="r",
            key=lambda r: r.id,
        )
    )


@routes.get("/v1/rectifications/{id}")
@allow("supervisor")
async def get_rectification(request: web.Request) -> web.Response:
    rect_id = _id(request)
    app = request.app
    async with app[POOL].acquire() as conn:
        rect = await service.get(conn, rect_id, app[VAULT])  # NotFound: 404 (problems middleware)
        await _record_read(request, conn, [rect.case_no], rect.case_no)
    return respond(rectification_json(rect, now=app[CLOCK].now(), tz=app[SETTINGS].calendar.tz))


@routes.post("/v1/rectifications/{id}/verify")
async def verify(request: web.Request) -> web.Response:
    """回访核实: recorded once; afterwards only closing is left."""
    rect_id = _id(request)
    body = VerifyIn.model_validate(await read_json(request))
    app = request.app
    now = app[CLOCK].now()
    async with app[POOL].acquire() as conn:
        rect = await service.verify(
            conn,
            rect_id,
            by=body.by,
            finding=body.finding,
            now=now,
            vault=app[VAULT],
            audit_as=(request[ROLE_KEY], request[ACTOR_KEY]),
        )
    return respond(rectification_json(rect, now=now, tz=app[SETTINGS].calendar.tz))


@routes.post("/v1/rectifications/{id}/close")
async def close(request: web.Request) -> web.Response:
    """Close with an outcome; the reply goes to the applicant on every channel they have."""
    rect_id = _id(request)
    body = CloseIn.model_validate(await read_json(request))
    app = request.app
    now = app[CLOCK].now()
    async with app[POOL].acquire() as conn:
        closed = await service.close(
            conn,
            app[ROUTING],
            rect_id,
            by=body.by,
            outcome=body.outcome,
            reply=body.reply,
            now=now,
            audit_as=(request[ROLE_KEY], request[ACTOR_KEY]),
        )
    answer = rectification_json(closed.rectification, now=now, tz=app[SETTINGS].calendar.tz)
    return respond(answer | {"notices": closed.notices})
