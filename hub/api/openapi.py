"""The OpenAPI 3.1 document of the routes the app serves, with the models that validate them.

:func:`openapi_document` walks the application's route table: every API route
must have an operation here (request schema from the pydantic model that
validates the body, response schema, errors), or start-up fails naming it. The
HTML pages (``/wap/``, ``/supervise/``) are not part of the API and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from core.events import Event
from core.notices import MessageStatus
from hub.api.models import ClockAdvance, DepartmentIn, PersonIn
from hub.api.rectifications import CloseIn, VerifyIn
from hub.broadcasts.service import BroadcastIn, ListIn
from hub.supervision.urges import UrgeIn

_REF = "#/components/schemas/{model}"


def _schema(adapter: TypeAdapter[Any], components: dict[str, Any]) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=_REF, by_alias=True)
    components.update(schema.pop("$defs", {}))
    return schema


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}},
    }


_ERRORS = {
    "400": _problem("Body is not JSON"),
    "401": _problem("Missing or wrong API key"),
    "403": _problem("The key's role may not do this"),
    "413": _problem("Body over 1 MiB"),
    "422": _problem("Invalid fields, each named in errors"),
    "503": _problem("Database unavailable; retry after Retry-After seconds"),
}

_JSON_OBJECT = {"type": "object"}
_STR = {"type": "string"}
_INT = {"type": "integer"}
_NULLABLE_STR = {"type": ["string", "null"]}
_LEVEL = {"enum": ["green", "yellow", "red", "done", None]}


def _object(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """An object schema: these properties required, others allowed."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **optional},
    }


def _page(item: dict[str, Any]) -> dict[str, Any]:
    return _object({"items": {"type": "array", "items": item}, "next_cursor": _NULLABLE_STR})


_CASE_SUMMARY = _object(
    {"case_no": _STR, "status": _STR, "level": _LEVEL, "suspended": {"type": "boolean"}},
    due_date=_NULLABLE_STR,
    due_at=_NULLABLE_STR,
    urges=_INT,
)
_NODE = _object(
    {
        "node_id": _STR,
        "name": _STR,
        "status": {"enum": ["open", "completed"]},
        "level": _LEVEL,
        "provisional": {"type": "boolean"},
    },
    due_at=_NULLABLE_STR,
    urges=_INT,
)
_CASE = _object(
    {
        "case_no": _STR,
        "status": _STR,
        "level": _LEVEL,
        "suspended": {"type": "boolean"},
        "deadline_unknown": {"type": "boolean"},
        "provisional": {"type": "boolean"},
        "nodes": {"type": "array", "items": _NODE},
        "stages": {"type": "array", "items": _JSON_OBJECT},
    },
    due_date=_NULLABLE_STR,
    closed_at=_NULLABLE_STR,
    rating={"type": ["integer", "null"]},
)
_MESSAGE = _object(
    {
        "id": _INT,
        "kind": _STR,
        "channel": _STR,
        "recipient": _STR,
        "status": {"enum": [s.value for s in MessageStatus]},
        "attempts": _INT,
        "body": _STR,
        "created_at": _STR,
    },
    case_no=_NULLABLE_STR,
    provider_message_id=_NULLABLE_STR,
    error=_NULLABLE_STR,
)
_RECTIFICATION = _object(
    {
        "id": _INT,
        "case_no": _STR,
        "department": _NULLABLE_STR,
        "rating": _INT,
        "comment": _NULLABLE_STR,
        "status": {"enum": ["open", "verified", "closed"]},
        "verify_due_at": _NULLABLE_STR,
        "rectify_due_at": _NULLABLE_STR,
        "level": _LEVEL,
        "verified_at": _NULLABLE_STR,
        "closed_at": _NULLABLE_STR,
        "outcome": {"enum": ["rectified", "explained", "unfounded", None]},
        "reply": _NULLABLE_STR,
    },
    opened_at=_STR,
    finding=_NULLABLE_STR,
)
_AUDIT = _object({"id": _INT, "at": _STR, "actor": _STR, "action": _STR, "subject": _STR})


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or _JSON_OBJECT}},
    }


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names
    ]


# The HTML pages and their assets: for people, not for programs.
PAGE_PREFIXES = ("/wap", "/supervise")

Route = tuple[str, str]  # (method, path pattern)


def api_routes(resources: Iterable[tuple[str, str]]) -> tuple[Route, ...]:
    """The (method, path) pairs of the API among ``resources``: pages and HEAD left out."""
    return tuple(
        sorted(
            (method.lower(), path)
            for method, path in resources
            if method not in ("HEAD", "*") and not path.startswith(PAGE_PREFIXES)
        )
    )


@cache
def openapi_document(routes: tuple[Route, ...]) -> dict[str, Any]:
    """The document for exactly ``routes``; LookupError names a route with no operation."""
    components, operations = _operations()
    paths: dict[str, dict[str, Any]] = {}
    for method, path in routes:
        operation = operations.get(path, {}).get(method)
        if operation is None:
            raise LookupError(f"{method.upper()} {path} has no operation in hub/api/openapi.py")
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cuiban",
            "version": "0.1.0",
            "description": "催办 — reminders for approval centres",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


_PUBLIC: list[dict[str, list[str]]] = []  # no API key (health, metrics, callbacks)


def _operations() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    # One long table of operations, on purpose: a reader finds every route's contract
    # in one place, in the order of the contract's API section.
    components: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "required": ["title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    }
    event = _schema(TypeAdapter(Event), components)
    components["Event"] = event
    components["EventBatch"] = {
        "type": "object",
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {"$ref": _REF.format(model="Event")},
            }
        },
    }
    person = _schema(TypeAdapter(PersonIn), components)
    department = _schema(TypeAdapter(DepartmentIn), components)
    advance = _schema(TypeAdapter(ClockAdvance), components)
    urge = _schema(TypeAdapter(UrgeIn), components)
    verify = _schema(TypeAdapter(VerifyIn), components)
    close = _schema(TypeAdapter(CloseIn), components)
    paths: dict[str, Any] = {
        "/v1/events": {
            "post": {
                "summary": "Ingest one event or a batch of at most 1000",
                "requestBody": _body(
                    {
                        "oneOf": [
                            {"$ref": _REF.format(model="Event")},
                            {"$ref": _REF.format(model="EventBatch")},
                        ]
                    }
                ),
                "responses": {
                    "202": _ok(
                        "Stored",
                        {
                            "type": "object",
                            "properties": {
                                "accepted": {"type": "integer"},
                                "duplicates": {"type": "integer"},
                            },
                        },
                    ),
                    "409": _problem("event_id reused with a different body"),
                    **_ERRORS,
                },
            }
        },
        "/v1/cases/{case_no}": {
            "get": {
                "summary": "A case with its nodes, levels and deadlines",
                "parameters": [
                    {
                        "name": "case_no",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _ok("The case", _CASE),
                    "404": _problem("No such case"),
                    **_ERRORS,
                },
            }
        },
        "/v1/cases": {
            "get": {
                "summary": "Cases for supervision, keyset-paginated",
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": schema}
                    for name, schema in [
                        ("department", {"type": "string"}),
                        ("level", {"enum": ["green", "yellow", "red", "done"]}),
                        ("status", {"type": "string"}),
                        ("cursor", {"type": "string"}),
                        ("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                    ]
                ],
                "responses": {"200": _ok("A page of cases", _page(_CASE_SUMMARY)), **_ERRORS},
            }
        },
        "/v1/people/{person_id}": {
            "put": {
                "summary": "Create or replace a person and their channels",
                "parameters": [
                    {
                        "name": "person_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": _body(person),
                "responses": {
                    "200": _ok("Replaced", _object({"person_id": _STR, "name": _NULLABLE_STR})),
                    "201": _ok("Created", _object({"person_id": _STR, "name": _NULLABLE_STR})),
                    **_ERRORS,
                },
            }
        },
        "/v1/departments/{code}": {
            "put": {
                "summary": "Create or replace a department and its escalation ladder",
                "parameters": [
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": _body(department),
                "responses": {"200": _ok("Replaced"), "201": _ok("Created"), **_ERRORS},
            }
        },
        "/v1/cases/{case_no}/urge": {
            "post": {
                "summary": "A 催办 to the current assignees, counted",
                "parameters": [_path_param("case_no")],
                "requestBody": _body(urge),
                "responses": {
                    "202": _ok(
                        "Queued",
                        _object(
                            {
                                "urge_id": _INT,
                                "nodes": {"type": "array", "items": _STR},
                                "notices": _INT,
                            }
                        ),
                    ),
                    "404": _problem("No such case"),
                    "409": _problem("The case has no open node"),
                    **_ERRORS,
                },
            }
        },
        "/v1/messages": {
            "get": {
                "summary": "The message log: every notice, its status, attempts and body",
                "parameters": _query(
                    "case_no",
                    "recipient",
                    "kind",
                    "status",
                    "person_id",
                    "channel",
                    "cursor",
                    "limit",
                ),
                "responses": {"200": _ok("A page of messages", _page(_MESSAGE)), **_ERRORS},
            }
        },
        "/v1/audit": {
            "get": {
                "summary": "The audit trail: changes to people and departments, urges, and "
                "every read of a case's personal data (action=case.read; department= gives "
                "a department's access log)",
                "parameters": _query(
                    "subject", "action", "department", "from", "to", "cursor", "limit"
                ),
                "responses": {"200": _ok("A page of audit entries", _page(_AUDIT)), **_ERRORS},
            }
        },
        "/v1/stats": {
            "get": {
                "summary": "Supervision figures: accepted, closed, on time, early, late, open, …",
                "parameters": _query("from", "to", "group_by"),
                "responses": {
                    "200": _ok("Figures per group", _object({"items": {"type": "array"}})),
                    **_ERRORS,
                },
            }
        },
        "/v1/rectifications": {
            "get": {
                "summary": "差评整改: one per poor rating, newest first, with its level",
                "parameters": _query("status", "department", "cursor", "limit"),
                "responses": {
                    "200": _ok("A page of rectifications", _page(_RECTIFICATION)),
                    **_ERRORS,
                },
            }
        },
        "/v1/rectifications/{id}": {
            "get": {
                "summary": "One rectification",
                "parameters": [_path_param("id")],
                "responses": {
                    "200": _ok("The rectification", _RECTIFICATION),
                    "404": _problem("No such rectification"),
                    **_ERRORS,
                },
            }
        },
        "/v1/rectifications/{id}/verify": {
            "post": {
                "summary": "回访核实: the applicant was called back; record what was found",
                "parameters": [_path_param("id")],
                "requestBody": _body(verify),
                "responses": {
                    "200": _ok("Verified", _RECTIFICATION),
                    "404": _problem("No such rectification"),
                    "409": _problem("Already verified or closed"),
                    **_ERRORS,
                },
            }
        },
        "/v1/rectifications/{id}/close": {
            "post": {
                "summary": "Close with an outcome; the reply is sent to the applicant",
                "parameters": [_path_param("id")],
                "requestBody": _body(close),
                "responses": {
                    "200": _ok(
                        "Closed; notices counts the reply messages queued",
                        {**_RECTIFICATION, "required": [*_RECTIFICATION["required"], "notices"]},
                    ),
                    "404": _problem("No such rectification"),
                    "409": _problem("Already closed"),
                    "422": _problem(
                        "Invalid fields, or a reply too long for channels.sms.max_segments"
                    ),
                    **{k: v for k, v in _ERRORS.items() if k != "422"},
                },
            }
        },
        "/v1/inbound-sms": {
            "get": {
                "summary": "Texts applicants sent, kept for supervisors",
                "parameters": _query("cursor", "limit"),
                "responses": {"200": _ok("A page of texts", _page(_JSON_OBJECT)), **_ERRORS},
            }
        },
        "/v1/broadcasts/{id}": {
            "get": {
                "summary": "A broadcast's progress",
                "parameters": [_path_param("id")],
                "responses": {
                    "200": _ok("Progress"),
                    "404": _problem("No such broadcast"),
                    **_ERRORS,
                },
            }
        },
        "/v1/broadcasts/{id}/cancel": {
            "post": {
                "summary": "Cancel a broadcast: nothing still queued is sent",
                "parameters": [_path_param("id")],
                "responses": {
                    "200": _ok("Cancelled"),
                    "404": _problem("No such broadcast"),
                    **_ERRORS,
                },
            }
        },
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _ok("Alive")}}},
        "/readyz": {
            "get": {
                "summary": "Database reachable and schema current",
                "responses": {"200": _ok("Ready"), "503": _ok("Not ready")},
            }
        },
    }
    paths |= _more_operations(components)
    # Served only under the manual clock: the route table decides whether it is listed.
    paths["/v1/test-clock/advance"] = {
        "post": {
            "summary": "Advance the manual test clock, doing due work at each due instant",
            "requestBody": _body(advance),
            "responses": {
                "200": _ok(
                    "The new now, how many timers fired, and the ones set aside "
                    "(each with its error) — the advance stands either way",
                    {
                        "type": "object",
                        "required": ["now", "fired", "set_aside"],
                        "properties": {
                            "now": _STR,
                            "fired": _INT,
                            "set_aside": {"type": "array", "items": _JSON_OBJECT},
                            "stops": _INT,
                            "failed": {"type": "array", "items": _JSON_OBJECT},
                            "failed_count": _INT,
                        },
                    },
                ),
                **_ERRORS,
            },
        }
    }
    return components, paths


# Long on purpose: a table of operations, one entry per route, read top to bottom.
def _more_operations(components: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Broadcasts, subscriber lists, provider callbacks, the document itself and /metrics."""
    broadcast = _schema(TypeAdapter(BroadcastIn), components)
    subscriber_list = _schema(TypeAdapter(ListIn), components)
    progress = _object(
        {
            "id": _INT,
            "status": {"enum": ["expanding", "sending", "done", "cancelled"]},
            "counts": {"type": "object", "additionalProperties": _INT},
        },
        key=_NULLABLE_STR,
        title=_STR,
        channels={"type": "array", "items": _STR},
        estimated_end=_NULLABLE_STR,
        warnings={"type": "array", "items": _STR},
    )
    list_view = _object(
        {"name": _STR, "mobiles": _INT, "emails": _INT, "updated_at": _STR},
        description=_STR,
    )
    # A provider's push: Aliyun posts a JSON array, Tencent a JSON object or array.
    push = {"oneOf": [{"type": "array", "items": _JSON_OBJECT}, _JSON_OBJECT]}
    ack = _object({}, code=_INT, msg=_STR, result=_INT, errmsg=_STR)

    def callback(summary: str) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "security": _PUBLIC,
                "parameters": _query("token"),
                "requestBody": _body(push),
                "responses": {
                    "200": _ok("Taken: the provider's own acknowledgement", ack),
                    "403": _problem("Missing or wrong ?token= (auth.callback_token)"),
                    "429": _problem("Too many wrong tokens from this address"),
                    **{k: v for k, v in _ERRORS.items() if k not in ("401", "403")},
                },
            }
        }

    return {
        "/v1/broadcasts": {
            "post": {
                "summary": "Queue an announcement (通知公告), or preview it with ?dry_run=true",
                "parameters": _query("dry_run"),
                "requestBody": _body(broadcast),
                "responses": {
                    "201": _ok("Queued: its progress", progress),
                    "200": _ok("Already queued under this key, or the dry run's preview"),
                    **_ERRORS,
                },
            }
        },
        "/v1/lists/{name}": {
            "put": {
                "summary": "Replace a subscriber list's mobiles and e-mail addresses",
                "parameters": [_path_param("name")],
                "requestBody": _body(subscriber_list),
                "responses": {"200": _ok("The list's size", list_view), **_ERRORS},
            },
            "get": {
                "summary": "A subscriber list's size (its addresses are not echoed)",
                "parameters": [_path_param("name")],
                "responses": {
                    "200": _ok("The list's size", list_view),
                    "404": _problem("No such list"),
                    **_ERRORS,
                },
            },
        },
        "/v1/calendar/years": {
            "get": {
                "summary": "The calendar's years (official and the provisional next one)",
                "responses": {"200": _ok("Years and the calendar's revision"), **_ERRORS},
            },
        },
        "/v1/calendar/years/{year}": {
            "put": {
                "summary": "Import the State Council's holiday notice for a year (admin)",
                "parameters": [_path_param("year")],
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "maxLength": 65536}},
                    }
                ),
                "responses": {
                    "200": _ok("Stored; what the re-plan of affected cases did"),
                    **_ERRORS,
                },
            },
        },
        "/v1/callbacks/sms/aliyun/report": callback("Aliyun delivery receipts (SmsReport)"),
        "/v1/callbacks/sms/aliyun/up": callback("Aliyun texts from applicants (SmsUp)"),
        "/v1/callbacks/sms/tencent/status": callback("Tencent Cloud delivery receipts"),
        "/v1/callbacks/sms/tencent/reply": callback("Tencent Cloud texts from applicants"),
        "/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "security": _PUBLIC,
                "responses": {"200": _ok("OpenAPI 3.1")},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format)",
                "security": _PUBLIC,
                "responses": {
                    "200": {
                        "description": "Counters and histograms",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
