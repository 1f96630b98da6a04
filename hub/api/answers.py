"""What the API answers, as pydantic models: the OpenAPI document's response schemas.

Each model is the shape of one kind of JSON body a route answers with; the views
(:mod:`hub.api.views`, the route modules, the services' ``*_json`` helpers) build
them as dicts. ``tests/integration/api/test_openapi.py`` validates real answers
against these models, so a field a view adds, renames or makes nullable without
saying so here fails a test. Answers may carry more fields than a model names.

Instants are ISO-8601 strings in the centre's time zone (+08:00); dates are
``YYYY-MM-DD``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.notices import MessageStatus

__all__ = [
    "AuditPage",
    "BroadcastPreview",
    "BroadcastProgress",
    "CalendarImported",
    "CalendarYears",
    "CaseOut",
    "CasePage",
    "ClockAdvanced",
    "ClosedRectification",
    "DepartmentOut",
    "Erasure",
    "EventsAccepted",
    "Health",
    "InboundSmsPage",
    "MessagePage",
    "PersonOut",
    "ProviderAck",
    "Readiness",
    "RectificationOut",
    "RectificationPage",
    "StatsOut",
    "SubjectExport",
    "SubscriberList",
    "Urged",
]

LevelName = Literal["green", "yellow", "red", "done"]
Instant = str  # ISO-8601 with the centre's offset
Day = str  # YYYY-MM-DD


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class Problem(_Answer):
    """An error (RFC 9457): ``detail`` says what to do; ``errors`` names each bad field."""

    type: str | None = None
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class EventsAccepted(_Answer):
    """Events stored; ``duplicates`` counts event ids already seen with the same body."""

    accepted: int
    duplicates: int


class Ref(_Answer):
    """A matter or department: its code and, when known, its name."""

    code: str
    name: str | None


class Limit(_Answer):
    value: int
    unit: str


class AssigneeOut(_Answer):
    id: str | None
    name: str | None


class ApplicantOut(_Answer):
    """The applicant as supervisors see them: masked name and mobile (张*, 138****5678)."""

    name: str | None
    mobile: str | None


class Suspension(_Answer):
    start: Instant | None
    end: Instant | None
    reason: str | None


class Stage(_Answer):
    """A statutory stage (acceptance decision, decision, delivery) with its own deadline."""

    stage: str
    start: Instant | None
    due_date: Day | None
    due_at: Instant | None
    level: LevelName | None
    level_text: str | None
    completed_at: Instant | None
    deadline_unknown: bool | None
    provisional: bool


class Node(_Answer):
    node_id: str
    name: str | None
    department: Ref | None
    assignee: AssigneeOut
    status: Literal["open", "completed"]
    level: LevelName | None
    level_text: str | None
    limit: Limit | None
    started_at: Instant | None
    completed_at: Instant | None
    outcome: str | None
    due_date: Day | None
    due_at: Instant | None
    warn_at: Instant | None
    deadline_unknown: bool | None
    provisional: bool | None
    suspended: bool
    urges: int


class CaseSummary(_Answer):
    """A case as the supervision list shows it; ``level`` is null while no deadline is known."""

    case_no: str
    status: str
    matter: Ref | None
    department: Ref | None
    level: LevelName | None
    level_text: str | None
    due_date: Day | None
    due_at: Instant | None
    suspended: bool
    deadline_unknown: bool | None
    provisional: bool | None
    urges: int


class CaseOut(CaseSummary):
    """A case in full: the list's fields, plus applicant, stages, suspensions and nodes.

    ``query_code`` is shown to admin keys only.
    """

    applicant: ApplicantOut | None
    project: dict[str, Any] | None
    green_channel: bool | None
    co_departments: list[str]
    limit: Limit | None
    warn_at: Instant | None
    exceeds_statutory: bool | None
    suspended_since: Instant | None
    suspensions: list[Suspension]
    extensions: Any
    applied_at: Instant | None
    accepted_at: Instant | None
    decided_at: Instant | None
    decision: str | None
    ready_at: Instant | None
    pickup: Any
    picked_up_at: Instant | None
    closed_at: Instant | None
    rating: int | None
    stages: list[Stage]
    nodes: list[Node]
    query_code: str | None = None


class CasePage(_Answer):
    items: list[CaseSummary]
    next_cursor: str | None


class AwayOut(_Answer):
    from_: Instant | None = Field(alias="from")
    to: Instant | None
    deputy: str


class PersonOut(_Answer):
    """A person as stored, mobile masked."""

    person_id: str
    name: str | None
    mobile: str | None
    email: str | None
    wecom_userid: str | None
    wechat_openid: str | None
    channels: list[str]
    quiet_hours: str | None
    away: AwayOut | None


class DepartmentOut(_Answer):
    """A department and its escalation ladder: head, deputy, supervisors."""

    code: str
    name: str | None
    head: str | None
    deputy: str | None
    supervisors: list[str]


class Urged(_Answer):
    """A 催办 queued: its id, the nodes urged, the notices queued."""

    urge_id: int
    nodes: list[str]
    notices: int


class Attempt(_Answer):
    attempt: int
    owner: str | None
    provider: str | None
    started_at: Instant | None
    finished_at: Instant | None
    outcome: str | None
    error: str | None
    error_code: str | None
    provider_message_id: str | None


class Message(_Answer):
    """One notice in the log. For every role but admin, secrets in the text are redacted,
    mobiles masked and ``link`` left out."""

    id: int
    case_no: str | None
    node_id: str | None
    kind: str
    channel: str
    person_id: str | None
    recipient: str | None
    status: MessageStatus
    attempts: int
    provider_message_id: str | None
    error: str | None
    created_at: Instant | None
    sent_at: Instant | None
    delivered_at: Instant | None
    body: str | None
    subject: str | None
    link: str | None
    note: str | None
    mandatory: bool
    priority: int
    not_before: Instant | None
    max_attempts: int
    provider: str | None
    error_code: str | None
    read_at: Instant | None
    attempt_log: list[Attempt]


class MessagePage(_Answer):
    items: list[Message]
    next_cursor: str | None


class AuditEntry(_Answer):
    id: int
    at: Instant | None
    actor_role: str | None
    actor: str | None
    action: str
    subject: str | None
    detail: Any


class AuditPage(_Answer):
    items: list[AuditEntry]
    next_cursor: str | None


class Figures(_Answer):
    """The supervision figures of a period; rates are fractions 0–1, null with nothing to
    divide by."""

    accepted: int
    green_channel: int
    closed: int
    closed_of_accepted: int
    early: int
    on_time: int
    late: int
    closed_unjudged: int
    withdrawn: int
    open: int
    open_due_soon: int
    open_overdue: int
    urges: int
    notices: int
    notices_sent: int
    notices_delivered: int
    notices_failed: int
    satisfaction: float | None
    satisfaction_count: int
    satisfaction_distribution: dict[str, int]
    closed_rate: float | None
    on_time_rate: float | None
    early_rate: float | None
    late_rate: float | None
    overdue_rate: float | None
    delivery_rate: float | None
    poor_ratings: int
    rectified: int
    verified_on_time: int
    rectified_on_time: int
    rectified_on_time_rate: float | None
    verified_on_time_rate: float | None


class StatsGroup(Figures):
    key: str | None
    name: str | None


class StatsOut(_Answer):
    from_: Day = Field(alias="from")
    to: Day
    group_by: Literal["department", "matter", "month"] | None
    as_of: Instant
    total: Figures
    items: list[StatsGroup]
    next_cursor: None


class RectificationOut(_Answer):
    """差评整改: one per poor rating, with its deadlines, level and outcome."""

    id: int
    case_no: str
    department: str | None
    rating: int
    comment: str | None
    status: Literal["open", "verified", "closed"]
    verify_due_at: Instant | None
    rectify_due_at: Instant | None
    level: LevelName | None
    verified_at: Instant | None
    closed_at: Instant | None
    outcome: Literal["rectified", "explained", "unfounded"] | None
    reply: str | None
    level_text: str | None
    department_name: str | None
    matter: str | None
    head: str | None
    opened_at: Instant | None
    verify_due_date: Day | None
    rectify_due_date: Day | None
    verified_by: str | None
    finding: str | None
    closed_by: str | None
    outcome_text: str | None
    provisional: bool | None


class ClosedRectification(RectificationOut):
    """Closed; ``notices`` counts the reply messages queued to the applicant."""

    notices: int


class RectificationPage(_Answer):
    items: list[RectificationOut]
    next_cursor: str | None


class InboundSms(_Answer):
    """A text someone sent; supervisors see the number masked."""

    id: int
    provider: str | None
    mobile: str | None
    text: str | None
    handled_as: str | None
    case_no: str | None
    detail: str | None
    sent_at: Instant | None
    received_at: Instant | None


class InboundSmsPage(_Answer):
    items: list[InboundSms]
    next_cursor: str | None


class BroadcastProgress(_Answer):
    """A broadcast's progress: counts by status, start and estimated end."""

    id: int
    key: str | None
    title: str
    status: Literal["expanding", "sending", "done", "cancelled"]
    channels: list[str]
    audience: Any
    recipients: int | None
    by_channel: dict[str, int]
    counts: dict[str, int]
    send_at: Instant | None
    started_at: Instant | None
    estimated_end: Instant | None
    finished_at: Instant | None
    rate_per_second: float
    created_at: Instant | None
    cancelled_at: Instant | None
    warnings: list[str] | None = None


class Cost(_Answer):
    messages: int
    by_channel: dict[str, int]


class BroadcastPreview(_Answer):
    """A dry run: who would get it, by channel, at what cost, and a sample of each text."""

    dry_run: Literal[True]
    channels: list[str]
    recipients: dict[str, int]
    total_recipients: int
    skipped: dict[str, int]
    sms_segments: int
    estimated_cost: Cost
    send_at: Instant
    estimated_end: Instant
    rate_per_second: float
    sample: dict[str, dict[str, Any]]
    warnings: list[str]


class SubscriberList(_Answer):
    """A subscriber list's size; its addresses are never echoed."""

    name: str
    description: str | None
    mobiles: int
    emails: int
    updated_at: Instant


class CalendarYear(_Answer):
    year: int
    provisional: bool
    source: str | None


class CalendarYears(_Answer):
    """The calendar's years (official, and the provisional next one) and its revision."""

    items: list[CalendarYear]
    revision: int


class CalendarImported(_Answer):
    """A year stored; ``replanned`` says what re-planning the affected cases did."""

    year: int
    revision: int
    replanned: dict[str, Any] | None


class ClockFailure(_Answer):
    at: Instant | None
    worker: str | None
    error: str | None


class ClockAdvanced(_Answer):
    """The new now, the timers fired, and the work set aside (each with its error)."""

    now: Instant | None
    fired: int
    set_aside: list[dict[str, Any]]
    stops: int
    failed: list[ClockFailure]
    failed_count: int


class Health(_Answer):
    status: Literal["ok"]


class Readiness(_Answer):
    """``ready`` (200), or ``migrating`` / ``unavailable`` (503); ``calendar`` names a year
    that is missing or provisional."""

    status: Literal["ready", "migrating", "unavailable"]
    schema_: int | None = Field(default=None, alias="schema")
    expected: int | None = None
    database: str | None = None
    calendar: dict[str, Any] | None = None


class ProviderAck(_Answer):
    """The provider's own acknowledgement: Aliyun's ``code`` and ``msg``, Tencent's ``result``
    and ``errmsg``."""

    code: int | None = None
    msg: str | None = None
    result: int | None = None
    errmsg: str | None = None


class SubjectCase(_Answer):
    """One case of the number's, with the applicant and events opened."""

    case_no: str
    status: str
    matter: str | None
    department: str | None
    applicant: dict[str, Any]
    accepted_at: Instant | None
    closed_at: Instant | None
    withdrawn_at: Instant | None
    deidentified_at: Instant | None
    events: list[dict[str, Any]]
    evaluation: dict[str, Any] | None
    complaints: list[dict[str, Any]]
    rectifications: list[dict[str, Any]]
    appointment: dict[str, Any] | None


class SubjectExport(_Answer):
    """Everything held about one mobile number (《个人信息保护法》 Art. 45), opened."""

    mobile: str
    exported_at: Instant
    cases: list[SubjectCase]
    messages: list[dict[str, Any]]
    inbound_sms: list[dict[str, Any]]
    opted_out_at: Instant | None
    lists: list[str]
    people: list[dict[str, Any]]  # officials in the directory with this number


class Erasure(_Answer):
    """What an erasure rewrote or deleted, rows by table, and what it kept and why."""

    erased: dict[str, int]
    kept: list[str]
