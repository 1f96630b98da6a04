"""``GET /v1/audit``: the audit trail by subject, action, department and time.

``?action=case.read&department=D`` is the access log of department D's cases: every
read of a case's personal data (hub/privacy/access.py).

An admin key reads the whole trail. A supervisor key reads the rows that name one of
the departments of its scope (:func:`hub.privacy.access.scope_of`), all of them when it
is centre-wide (``departments = ["*"]``); asking for another department, or holding a
key bound to none, is answered 403 with the departments it may ask for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from hub.api import paging
from hub.api.auth import ACTOR_KEY, API_KEY, ROLE_KEY, allow
from hub.api.jsonio import respond
from hub.api.problems import Problem
from hub.api.views import local
from hub.keys import CLOCK, POOL, SETTINGS
from hub.privacy.access import Scope, record_cases_shown, scope_of, visible_detail
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


async def record_request_cases(
    conn: asyncpg.Connection,
    request: web.Request,
    *,
    action: str,
    subject: str,
    detail: Mapping[str, Any],
    case_nos: Iterable[str],
) -> None:
    """One access-log row for a request whose answer showed personal data of ``case_nos``
    (:func:`hub.privacy.access.record_cases_shown`), by the request's API key."""
    await record_cases_shown(
        conn,
        at=request.app[CLOCK].now(),
        role=request[ROLE_KEY],
        actor=request[ACTOR_KEY],
        action=action,
        subject=subject,
        detail=detail,
        case_nos=case_nos,
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


def _check_scope(scope: Scope, department: str | None) -> None:
    """Refuse a department outside the key's scope, or a key bound to no department."""
    if scope.everywhere:
        return
    if not scope.departments:
        raise Problem(
            403,
            "this supervisor key is bound to no department: give it departments = [...] "
            '(["*"] for the whole centre) or person = "<person id>" in [auth] api_keys',
        )
    if department is not None and not scope.allows(department):
        raise Problem(
            403,
            f"this key may read the audit trail of departments {', '.join(scope.only() or [])} "
            f"only, not {department}",
            errors=[{"field": "department", "message": "not a department of this key"}],
        )


@routes.get("/v1/audit")
@allow("supervisor")
async def list_audit(request: web.Request) -> web.Response:
    q = request.query
    errors: paging.Errors = []
    limit = paging.page_size(q, errors, default=100, maximum=1000)
    paging.check(errors)
    after = paging.decode_id_cursor("a", q["cursor"]) if q.get("cursor") else None
    department = q.get("department") or None
    async with request.app[POOL].acquire() as conn:
        scope = await scope_of(conn, request[API_KEY])
        _check_scope(scope, department)
        rows = await conn.fetch(
            Q["list_audit"],
            q.get("subject") or None,
            q.get("action") or None,
            _instant(request, "from"),
            _instant(request, "to"),
            after,
            limit + 1,
            department,
            scope.only(),
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
            "detail": visible_detail(r["detail"], scope),
        }

    return respond(paging.items_page(rows, limit, entry, prefix="a", key=lambda r: r["id"]))
