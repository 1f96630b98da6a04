"""The OpenAPI 3.1 document of the routes the app serves, from the pydantic models.

:data:`OPERATIONS` is one table, a row per API route: a summary, the model that
validates the request body, the models of the answers (:mod:`hub.api.answers`),
the parameters and the errors. :func:`openapi_document` walks the application's
route table and turns each route's row into an operation, its schemas generated
from the models; a route without a row stops start-up, naming it. The HTML pages
(``/wap/``, ``/supervise/``) are not part of the API and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from core.events import Event
from hub.api import answers
from hub.api.calendar import YearFileIn
from hub.api.models import ClockAdvance, DepartmentIn, PersonIn
from hub.api.rectifications import CloseIn, VerifyIn
from hub.broadcasts.service import BroadcastIn, ListIn
from hub.supervision.urges import UrgeIn

__all__ = ["OPERATIONS", "Operation", "api_routes", "openapi_document"]

_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Named:
    """A schema that is not a model class (a union), kept as a component under ``name``."""

    name: str
    adapter: TypeAdapter[Any]


#: A body or an answer: a pydantic model (an answer's is a named component, a body's is
#: inline), a Named union, a TypeAdapter (inline), or alternatives (oneOf).
Schema = type[BaseModel] | Named | TypeAdapter[Any] | tuple["Schema", ...]


class EventBatch(BaseModel):
    """Up to 1000 events in one request, stored in one transaction."""

    events: Annotated[list[Event], Field(min_length=1, max_length=1000)]


_EVENT = Named("Event", TypeAdapter(Event))
# A provider's push: Aliyun posts a JSON array, Tencent a JSON object or an array.
_PUSH: TypeAdapter[Any] = TypeAdapter(list[dict[str, Any]] | dict[str, Any])


@dataclass(frozen=True, kw_only=True)
class Answer:
    """One success answer: what it means and the model of its body (None: not JSON)."""

    description: str
    model: Schema | None
    media: str = "application/json"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One route's contract, as the document states it."""

    summary: str
    answers: Mapping[int, Answer]
    body: Schema | None = None
    path: tuple[str, ...] = ()
    query: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # Errors besides the common ones (_ERRORS, for routes behind an API key), or a better
    # word for one of them.
    problems: Mapping[int, str] = field(default_factory=dict)
    # No API key: health, metrics, this document, the callbacks (their ?token= instead).
    public: bool = False


_ERRORS = {
    400: "Body is not JSON",
    401: "Missing or wrong API key",
    403: "The key's role may not do this",
    413: "Body over 1 MiB",
    422: "Invalid fields, each named in errors",
    503: "Database unavailable; retry after Retry-After seconds",
}
_CALLBACK_PROBLEMS = {
    **{s: d for s, d in _ERRORS.items() if s not in (401, 403)},
    403: "Missing or wrong ?token= (auth.callback_token)",
    429: "Too many wrong tokens from this address",
}
_STR: dict[str, Any] = {"type": "string"}


def _query(*names: str) -> dict[str, dict[str, Any]]:
    return dict.fromkeys(names, _STR)


def _ok(description: str, model: Schema | None) -> Answer:
    return Answer(description=description, model=model)


def _callback(summary: str) -> Operation:
    return Operation(
        summary=summary,
        public=True,
        query=_query("token"),
        body=_PUSH,
        answers={200: _ok("Taken: the provider's own acknowledgement", answers.ProviderAck)},
        problems=_CALLBACK_PROBLEMS,
    )


_RECTIFICATION = ("id",)
_NO_RECTIFICATION = {404: "No such rectification"}
_CASES_QUERY = {
    "department": _STR,
    "level": {"enum": ["green", "yellow", "red", "done"]},
    "status": _STR,
    "cursor": _STR,
    "limit": {"type": "integer", "minimum": 1, "maximum": 500},
}

# One table, in the order of the contract's API section: a reader finds every route's
# contract in one place. The test clock's row is listed always; the route table decides
# whether it is served (only under the manual clock).
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("post", "/v1/events"): Operation(
        summary="Ingest one event or a batch of at most 1000",
        body=(_EVENT, EventBatch),
        answers={202: _ok("Stored", answers.EventsAccepted)},
        problems={409: "event_id reused with a different body"},
    ),
    ("get", "/v1/cases/{case_no}"): Operation(
        summary="A case with its nodes, levels and deadlines",
        path=("case_no",),
        answers={200: _ok("The case", answers.CaseOut)},
        problems={404: "No such case"},
    ),
    ("get", "/v1/cases"): Operation(
        summary="Cases for supervision, keyset-paginated",
        query=_CASES_QUERY,
        answers={200: _ok("A page of cases", answers.CasePage)},
    ),
    ("put", "/v1/people/{person_id}"): Operation(
        summary="Create or replace a person and their channels",
        path=("person_id",),
        body=PersonIn,
        answers={
            200: _ok("Replaced", answers.PersonOut),
            201: _ok("Created", answers.PersonOut),
        },
    ),
    ("put", "/v1/departments/{code}"): Operation(
        summary="Create or replace a department and its escalation ladder",
        path=("code",),
        body=DepartmentIn,
        answers={
            200: _ok("Replaced", answers.DepartmentOut),
            201: _ok("Created", answers.DepartmentOut),
        },
    ),
    ("post", "/v1/cases/{case_no}/urge"): Operation(
        summary="A 催办 to the current assignees, counted",
        path=("case_no",),
        body=UrgeIn,
        answers={202: _ok("Queued", answers.Urged)},
        problems={404: "No such case", 409: "The case has no open node"},
    ),
    ("get", "/v1/messages"): Operation(
        summary="The message log: every notice, its status, attempts and body; each page "
        "shown is one access-log row (action=messages.read: who, when, the cases by department)",
        query=_query(
            "case_no", "recipient", "kind", "status", "person_id", "channel", "cursor", "limit"
        ),
        answers={200: _ok("A page of messages", answers.MessagePage)},
    ),
    ("get", "/v1/audit"): Operation(
        summary="The audit trail: changes to people and departments, urges, and every read "
        "of a case's personal data (action=case.read; department= gives a department's "
        "access log)",
        query=_query("subject", "action", "department", "from", "to", "cursor", "limit"),
        answers={200: _ok("A page of audit entries", answers.AuditPage)},
        problems={
            403: "The key's role may not do this; or a supervisor key asked for a department "
            "outside its departments (auth.api_keys departments/person), or is bound to none"
        },
    ),
    ("get", "/v1/privacy/subjects/{mobile}"): Operation(
        summary="Everything held about a mobile number, opened (《个人信息保护法》 Art. 45): its "
        "cases with their events, messages to it, texts from it, opt-out and lists; admin "
        "only, audited (subject.exported)",
        path=("mobile",),
        answers={200: _ok("What is held", answers.SubjectExport)},
    ),
    ("delete", "/v1/privacy/subjects/{mobile}"): Operation(
        summary="Erase what is held about a mobile number (Art. 47): its cases de-identified, "
        "sign-ins and subscriptions deleted; refused while it has a case still being "
        "handled; admin only, audited (subject.erased)",
        path=("mobile",),
        answers={200: _ok("Rows rewritten or deleted by table; what was kept", answers.Erasure)},
        problems={409: "The number has a case still open; the detail names it"},
    ),
    ("get", "/v1/stats"): Operation(
        summary="Supervision figures: accepted, closed, on time, early, late, open, …",
        query=_query("from", "to", "group_by"),
        answers={200: _ok("Figures in total and per group", answers.StatsOut)},
    ),
    ("post", "/v1/test-clock/advance"): Operation(
        summary="Advance the manual test clock, doing due work at each due instant",
        body=ClockAdvance,
        answers={
            200: _ok(
                "The new now, how many timers fired, and the ones set aside (each with its "
                "error) — the advance stands either way",
                answers.ClockAdvanced,
            )
        },
    ),
    ("post", "/v1/broadcasts"): Operation(
        summary="Queue an announcement (通知公告), or preview it with ?dry_run=true",
        query=_query("dry_run"),
        body=BroadcastIn,
        answers={
            201: _ok("Queued: its progress", answers.BroadcastProgress),
            200: _ok(
                "Already queued under this key (its progress), or the dry run's preview",
                TypeAdapter(answers.BroadcastProgress | answers.BroadcastPreview),
            ),
        },
    ),
    ("get", "/v1/broadcasts/{id}"): Operation(
        summary="A broadcast's progress",
        path=("id",),
        answers={200: _ok("Progress", answers.BroadcastProgress)},
        problems={404: "No such broadcast"},
    ),
    ("post", "/v1/broadcasts/{id}/cancel"): Operation(
        summary="Cancel a broadcast: nothing still queued is sent",
        path=("id",),
        answers={200: _ok("Cancelled: its progress", answers.BroadcastProgress)},
        problems={404: "No such broadcast"},
    ),
    ("put", "/v1/lists/{name}"): Operation(
        summary="Replace a subscriber list's mobiles and e-mail addresses",
        path=("name",),
        body=ListIn,
        answers={200: _ok("The list's size", answers.SubscriberList)},
    ),
    ("get", "/v1/lists/{name}"): Operation(
        summary="A subscriber list's size (its addresses are not echoed)",
        path=("name",),
        answers={200: _ok("The list's size", answers.SubscriberList)},
        problems={404: "No such list"},
    ),
    ("get", "/v1/rectifications"): Operation(
        summary="差评整改: one per poor rating, newest first, with its level",
        query=_query("status", "department", "cursor", "limit"),
        answers={200: _ok("A page of rectifications", answers.RectificationPage)},
    ),
    ("get", "/v1/rectifications/{id}"): Operation(
        summary="One rectification",
        path=_RECTIFICATION,
        answers={200: _ok("The rectification", answers.RectificationOut)},
        problems=_NO_RECTIFICATION,
    ),
    ("post", "/v1/rectifications/{id}/verify"): Operation(
        summary="回访核实: the applicant was called back; record what was found",
        path=_RECTIFICATION,
        body=VerifyIn,
        answers={200: _ok("Verified", answers.RectificationOut)},
        problems={**_NO_RECTIFICATION, 409: "Already verified or closed"},
    ),
    ("post", "/v1/rectifications/{id}/close"): Operation(
        summary="Close with an outcome; the reply is sent to the applicant",
        path=_RECTIFICATION,
        body=CloseIn,
        answers={
            200: _ok(
                "Closed; notices counts the reply messages queued", answers.ClosedRectification
            )
        },
        problems={
            **_NO_RECTIFICATION,
            409: "Already closed",
            422: "Invalid fields, or a reply too long for channels.sms.max_segments",
        },
    ),
    ("get", "/v1/inbound-sms"): Operation(
        summary="Texts applicants sent, kept for supervisors",
        query=_query("handled_as", "mobile", "case_no", "cursor", "limit"),
        answers={200: _ok("A page of texts", answers.InboundSmsPage)},
    ),
    ("get", "/v1/calendar/years"): Operation(
        summary="The calendar's years (official and the provisional next one)",
        answers={200: _ok("Years and the calendar's revision", answers.CalendarYears)},
    ),
    ("put", "/v1/calendar/years/{year}"): Operation(
        summary="Import the State Council's holiday notice for a year (admin)",
        path=("year",),
        body=YearFileIn,
        answers={
            200: _ok("Stored; what the re-plan of affected cases did", answers.CalendarImported)
        },
    ),
    ("post", "/v1/callbacks/sms/aliyun/report"): _callback("Aliyun delivery receipts (SmsReport)"),
    ("post", "/v1/callbacks/sms/aliyun/up"): _callback("Aliyun texts from applicants (SmsUp)"),
    ("post", "/v1/callbacks/sms/tencent/status"): _callback("Tencent Cloud delivery receipts"),
    ("post", "/v1/callbacks/sms/tencent/reply"): _callback("Tencent Cloud texts from applicants"),
    ("get", "/v1/openapi.json"): Operation(
        summary="This document",
        public=True,
        answers={200: _ok("OpenAPI 3.1", TypeAdapter(dict[str, Any]))},
    ),
    ("get", "/healthz"): Operation(
        summary="Liveness", public=True, answers={200: _ok("Alive", answers.Health)}
    ),
    ("get", "/readyz"): Operation(
        summary="Database reachable and schema current",
        public=True,
        answers={
            200: _ok("Ready", answers.Readiness),
            503: _ok("Not ready: migrating, or the database unreachable", answers.Readiness),
        },
    ),
    ("get", "/metrics"): Operation(
        summary="Prometheus metrics (text exposition format)",
        public=True,
        answers={
            200: Answer(
                description="Counters and histograms",
                model=TypeAdapter(str),
                media="text/plain",
            )
        },
    ),
}


class _Components:
    """The document's named schemas, filled as operations refer to models."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        if self.schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are both named {name!r}")

    def schema(self, model: Schema, *, inline: bool = False) -> dict[str, Any]:
        """``model``'s schema: a model or a Named union as a $ref to its component (inline
        when asked), a TypeAdapter's inline, alternatives as oneOf."""
        if isinstance(model, tuple):
            return {"oneOf": [self.schema(m, inline=inline) for m in model]}
        name = model.name if isinstance(model, Named) else None
        if isinstance(model, type):
            name = None if inline else model.__name__
            adapter: TypeAdapter[Any] = TypeAdapter(model)
        else:
            adapter = model.adapter if isinstance(model, Named) else model
        schema = adapter.json_schema(ref_template=_REF, by_alias=True)
        for nested_name, nested in schema.pop("$defs", {}).items():
            self._add(nested_name, nested)
        if name is None:
            return schema
        self._add(name, schema)
        return {"$ref": _REF.format(model=name)}


def _operation(op: Operation, components: _Components) -> dict[str, Any]:
    problem = components.schema(answers.Problem)
    responses: dict[str, Any] = {}
    for status, answer in sorted(op.answers.items()):
        content = {} if answer.model is None else {"schema": components.schema(answer.model)}
        responses[str(status)] = {
            "description": answer.description,
            "content": {answer.media: content},
        }
    common = {} if op.public else _ERRORS
    for status, description in sorted((common | dict(op.problems)).items()):
        if status not in op.answers:
            responses[str(status)] = {
                "description": description,
                "content": {"application/problem+json": {"schema": problem}},
            }
    out: dict[str, Any] = {"summary": op.summary, "responses": responses}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _STR} for name in op.path
    ] + [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in op.query.items()
    ]
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.schema(op.body, inline=True)}},
        }
    if op.public:
        out["security"] = []
    return out


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
    components = _Components()
    components.schema(answers.Problem)
    paths: dict[str, dict[str, Any]] = {}
    for method, path in routes:
        operation = OPERATIONS.get((method, path))
        if operation is None:
            raise LookupError(f"{method.upper()} {path} has no operation in hub/api/openapi.py")
        paths.setdefault(path, {})[method] = _operation(operation, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cuiban",
            "version": "0.1.0",
            "description": "催办 — reminders for approval centres",
        },
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
