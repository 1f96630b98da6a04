"""``GET /v1/audit``: the audit trail by subject, action, department and time.

``?action=case.read&department=D`` is the access log of department D's cases: every
read of a case's personal data (hub/privacy/access.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from hub.api import paging
from hub.api.auth import ACTOR_KEY, ROLE_KEY, allow
from hub.api.jsonio import respond
from hub.api.problems import Problem
from hub.api.views import local
from hub.keys import CLOCK, POOL, SETTINGS
from hub.store.queries import Q
from hub.supervision.audit import record

routes = web.RouteTableDef()


async def record_request(
    conn: asyncpg.Connection,
    request: web.Request,
    *,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> None:
    """An audit row for what the request's API key did."""
    await record(
        conn,
        at=request.app[CLOCK].now(),
        role=request[ROLE_KEY],
        actor=request[ACTOR_KEY],
        action=action,
        subject=subject,
        detail=detail,
    )


def _instant(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Problem(
            422,
            f"{name} must be an ISO-8601 instant with an offset",
            errors=[{"field": name, "message": "an ISO-8601 instant with an offset"}],
        )
    return value


@routes.get("/v1/audit")
@allow("supervisor")
async def list_audit(request: web.Request) -> web.Response:
    q = request.query
    errors: paging.Errors = []
    limit = paging.page_size(q, errors, default=100, maximum=1000)
    paging.check(errors)
    after = paging.decode_id_cursor("a", q["cursor"]) if q.get("cursor") else None
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(
            Q["list_audit"],
            q.get("subject") or None,
            q.get("action") or None,
            _instant(request, "from"),
            _instant(request, "to"),
            after,
            limit + 1,
            q.get("department") or None,
        )
    tz = request.app[SETTINGS].calendar.tz

    def entry(r: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "at": local(r["at"], tz),
            "actor_role": r["actor_role"],
            "actor": r["actor"],
            "action": r["action"],
            "subject": r["subject"],
            "detail": r["detail"],
        }

    return respond(paging.items_page(rows, limit, entry, prefix="a", key=lambda r: r["id"]))
