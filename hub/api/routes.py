"""The ``/v1`` HTTP API: events in, cases, people and departments, the test clock."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol, get_args

import asyncpg
from aiohttp import web
from pydantic import ValidationError

from core.cases import CaseStatus
from core.events import EVENT_ADAPTER
from hub.api import paging, views
from hub.api.audit import record_request
from hub.api.auth import ACTOR_KEY, ROLE_KEY, allow
from hub.api.jsonio import read_json, respond
from hub.api.models import ClockAdvance, DepartmentIn, PersonIn, parse_duration
from hub.api.problems import Problem, field_errors
from hub.clock import ManualClock
from hub.keys import (
    CALENDAR,
    CLOCK,
    METRICS,
    PLANNER,
    POOL,
    RULES,
    SETTINGS,
    TEST_CLOCK_HOOKS,
    VAULT,
)
from hub.lifecycle import advance_test_clock as advance_clock
from hub.privacy.access import record_case_read
from hub.privacy.people import opened_person
from hub.privacy.records import open_applicant
from hub.store import ingest as store
from hub.supervision.calendar_status import calendar_status

MAX_BATCH = 1000
MAX_PAGE = 500

routes = web.RouteTableDef()


@routes.post("/v1/events")
@allow("ingest")
async def post_events(request: web.Request) -> web.Response:
    raws, prefix = _event_objects(await read_json(request))
    result = await _ingest(request.app, _validated(raws, prefix))
    request.app[METRICS].inc("cuiban_events_accepted_total", result.accepted)
    request.app[METRICS].inc("cuiban_events_duplicate_total", result.duplicates)
    return respond({"accepted": result.accepted, "duplicates": result.duplicates}, status=202)


def _event_objects(body: Any) -> tuple[list[Any], list[Any]]:
    """The events a body holds (one event, or ``{"events": [...]}``), and where they sit."""
    if not isinstance(body, dict):
        raise Problem(422, 'send one event object, or {"events": [...]}')
    if "events" not in body or "type" in body:
        return [body], []
    raws = body["events"]
    if not isinstance(raws, list):
        raise Problem(
            422,
            "'events' must be a list",
            errors=[{"field": "events", "message": "must be a list"}],
        )
    if not raws:
        raise Problem(
            422, "'events' is empty", errors=[{"field": "events", "message": "must not be empty"}]
        )
    if len(raws) > MAX_BATCH:
        raise Problem(
            422,
            f"at most {MAX_BATCH} events per request; this one has {len(raws)}",
            errors=[{"field": "events", "message": f"at most {MAX_BATCH} items"}],
        )
    return raws, ["events"]


def _validated(raws: list[Any], prefix: list[Any]) -> list[store.IncomingEvent]:
    """Each event validated once; 422 naming every bad field, nothing stored, if any is bad."""
    items = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(raws):
        where = [*prefix, index] if prefix else []
        if not isinstance(raw, dict):
            errors.append(
                {"field": ".".join(map(str, where)) or "body", "message": "must be an object"}
            )
            continue
        try:
            items.append(store.IncomingEvent(raw=raw, event=EVENT_ADAPTER.validate_python(raw)))
        except ValidationError as exc:
            errors.extend(field_errors(exc, prefix=where))
    if errors:
        raise Problem(422, f"{len(errors)} invalid field(s); nothing was stored", errors=errors)
    return items


async def _ingest(app: web.Application, items: list[store.IncomingEvent]) -> store.IngestResult:
    """Store and project the batch in one transaction; 409 naming each reused event_id."""
    async with app[POOL].acquire() as conn:
        try:
            return await store.ingest(
                conn,
                items,
                now=app[CLOCK].now(),
                calendar=app[CALENDAR],
                rules_for=app[RULES],
                vault=app[VAULT],
                after=app[PLANNER].after_ingest,
            )
        except store.EventConflict as exc:
            raise Problem(
                409,
                str(exc),
                errors=[
                    {"field": "event_id", "message": f"{eid} was used for a different event"}
                    for eid in exc.event_ids
                ],
            ) from None


@routes.get("/v1/cases/{case_no}")
@allow("supervisor")
async def get_case(request: web.Request) -> web.Response:
    app = request.app
    case_no = request.match_info["case_no"]
    async with app[POOL].acquire() as conn:
        found = await store.get_case(conn, case_no)
        if found is None:
            raise Problem(404, f"no case {case_no!r}")
        row, nodes = found
        await record_case_read(
            conn,
            at=app[CLOCK].now(),
            role=request[ROLE_KEY],
            actor=request[ACTOR_KEY],
            case_no=row["case_no"],
            department=row["department_code"],
            via="api",
        )
    opened = {**row, "applicant": open_applicant(app[VAULT], row["applicant"])}
    return respond(
        views.case_json(
            opened,
            nodes,
            now=app[CLOCK].now(),
            tz=app[SETTINGS].calendar.tz,
            reveal_query_code=request[ROLE_KEY] == "admin",
        )
    )


_LEVELS = ("green", "yellow", "red", "done")
_STATUSES: tuple[str, ...] = get_args(CaseStatus)


@routes.get("/v1/cases")
@allow("supervisor")
async def list_cases(request: web.Request) -> web.Response:
    q = request.query
    errors: paging.Errors = []
    level = paging.choice(q, "level", _LEVELS, errors)
    status = paging.choice(q, "status", _STATUSES, errors)
    limit = paging.page_size(q, errors, maximum=MAX_PAGE)
    paging.check(errors)
    after = paging.decode_cursor("c", q["cursor"]) if q.get("cursor") else None

    app = request.app
    now = app[CLOCK].now()
    async with app[POOL].acquire() as conn:
        rows = await store.list_cases(
            conn,
            now=now,
            department=q.get("department") or None,
            status=status,
            level=level,
            after=after,
            limit=limit + 1,
        )
    tz = app[SETTINGS].calendar.tz
    return respond(
        paging.items_page(
            rows,
            limit,
            lambda r: views.case_summary_json(r, now=now, tz=tz),
            prefix="c",
            key=lambda r: r["case_no"],
        )
    )


class _Put(Protocol):
    async def __call__(
        self, conn: asyncpg.Connection, key: str, fields: Mapping[str, Any], /, *, now: datetime
    ) -> bool: ...


class _Get(Protocol):
    async def __call__(self, conn: asyncpg.Connection, key: str, /) -> asyncpg.Record | None: ...


async def _replace(
    request: web.Request,
    *,
    action: str,
    key: str,
    fields: Mapping[str, Any],
    put: _Put,
    get: _Get,
    view: Callable[[asyncpg.Record], dict[str, Any]],
) -> web.Response:
    """Create or replace one directory entry, audited in the same transaction; 201 if new."""
    app = request.app
    async with app[POOL].acquire() as conn, conn.transaction():
        created = await put(conn, key, fields, now=app[CLOCK].now())
        row = await get(conn, key)
        assert row is not None  # written just now, in this transaction
        shown = view(row)
        await record_request(
            conn, request, action=action, subject=key, detail=shown | {"created": created}
        )
    return respond(shown, status=201 if created else 200)


@routes.put("/v1/people/{person_id}")
async def put_person(request: web.Request) -> web.Response:
    person_id = request.match_info["person_id"]
    if not 1 <= len(person_id) <= 128:
        raise Problem(422, "person_id must be 1 to 128 characters")
    fields = PersonIn.model_validate(await read_json(request)).stored_fields()
    tz = request.app[SETTINGS].calendar.tz
    vault = request.app[VAULT]
    return await _replace(
        request,
        action="person.put",
        key=person_id,
        fields=fields,
        put=functools.partial(store.put_person, vault=vault),
        get=store.get_person,
        view=lambda row: views.person_json(opened_person(vault, row), tz),
    )


@routes.put("/v1/departments/{code}")
async def put_department(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if not 1 <= len(code) <= 64:
        raise Problem(422, "department code must be 1 to 64 characters")
    body = DepartmentIn.model_validate(await read_json(request))
    return await _replace(
        request,
        action="department.put",
        key=code,
        fields=body.model_dump(),
        put=store.put_department,
        get=store.get_department,
        view=views.department_json,
    )


async def advance_test_clock(request: web.Request) -> web.Response:
    """Move the manual clock, then run everything that came due on the way."""
    body = ClockAdvance.model_validate(await read_json(request))
    clock = request.app[CLOCK]
    assert isinstance(clock, ManualClock)
    if body.to is not None:
        target = body.to
    else:
        assert body.by is not None
        target = clock.now() + parse_duration(body.by)
    done = await advance_clock(request.app[TEST_CLOCK_HOOKS], clock, target)
    tz = request.app[SETTINGS].calendar.tz
    return respond(
        {
            "now": views.local(done.now, tz),
            "fired": done.tick.fired,
            "set_aside": [item.as_json() for item in done.tick.set_aside],
            "stops": done.stops,
            "failed": [
                {"at": views.local(f.at, tz), "worker": f.worker, "error": f.error}
                for f in done.failures
            ],
            "failed_count": done.failure_count,
        }
    )


async def healthz(_: web.Request) -> web.Response:
    return respond({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    from hub.store.db import latest_version, schema_version

    try:
        async with request.app[POOL].acquire(timeout=2) as conn:
            version = await schema_version(conn)
    except Exception as exc:  # any failure to reach the database means not ready
        return respond(
            {"status": "unavailable", "database": str(exc) or type(exc).__name__}, status=503
        )
    expected = latest_version()
    if version != expected:
        return respond({"status": "migrating", "schema": version, "expected": expected}, status=503)
    body: dict[str, object] = {"status": "ready", "schema": version}
    app = request.app
    async with app[POOL].acquire(timeout=2) as conn:
        status = await calendar_status(
            conn, app[CALENDAR], app[SETTINGS].calendar, app[CLOCK].now()
        )
    if status.warning:
        # Still ready: deadlines go on (provisionally); the body names the missing year.
        body["calendar"] = status.as_json()
    return respond(body)
