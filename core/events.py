"""The events an approval system sends Cuiban, validated into typed models.

These models are the one definition of an event: ``POST /v1/events`` validates
with them, the OpenAPI document is generated from them, and the case
projection (``core.cases``) folds them. Unknown extra fields are ignored so an
approval system may send more than Cuiban reads.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
)

from core.deadlines import Limit, Unit
from core.instants import EARLIEST, LATEST, in_span

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SPACES_AND_DASHES = re.compile(r"[\s-]")

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=2000)]
PersonId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]

# An ISO-8601 date and time as text: pydantic would also take a number (or a string of
# digits) as a Unix time, which the contract refuses ("Input limits").
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):  # built in code, not parsed from a request
        return value
    if not isinstance(value, str) or not _ISO_INSTANT.match(value):
        raise ValueError("must be an ISO-8601 date and time with an offset, as a string")
    return value


def _in_span(value: datetime) -> datetime:
    if not in_span(value.date()):
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


#: An instant from outside: ISO-8601 text with an offset, between 2000-01-01 and 2100-01-01.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_span)]

_CASE_NO_FORBIDDEN = "/"


def _case_no(value: str) -> str:
    # Printable (no control or format characters, no separators but the ASCII space),
    # no whitespace at all, no "/" (it would split the URL paths the number appears in).
    # Every whitespace character but the ASCII space is unprintable, so that one is left.
    if not value.isprintable() or " " in value or _CASE_NO_FORBIDDEN in value:
        raise ValueError("must be printable, without '/', whitespace or control characters")
    return value


#: A case number (contract "Input limits"): 1–64 printable characters, no ``/`` or whitespace.
CaseNo = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_case_no),
]


def normalize_mobile(value: str) -> str:
    """A mainland mobile number as 11 digits; accepts +86 / 0086 prefixes, spaces and dashes."""
    if _MOBILE.fullmatch(value):  # the common case, already plain: nothing to rewrite
        return value
    digits = mobile_digits(value)
    if not _MOBILE.match(digits):
        raise ValueError("not a mainland mobile number (11 digits starting with 1)")
    return digits


def mobile_digits(value: str) -> str:
    """The number as Cuiban compares it, valid or not: no spaces or dashes, no +86 / 0086.

    The one rule for every number Cuiban reads (events, lists, forms, provider pushes);
    :func:`normalize_mobile` adds the check that it is a mainland mobile number.
    """
    digits = _SPACES_AND_DASHES.sub("", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            return digits[len(prefix) :]
    return digits


def is_mobile(value: str) -> bool:
    """Whether ``value`` is a mainland mobile number (after :func:`mobile_digits`)."""
    return bool(_MOBILE.match(mobile_digits(value)))


Mobile = Annotated[str, Field(examples=["13812345678"])]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


class Matter(_Model):
    code: Code
    name: Name


class Department(_Model):
    code: Code
    name: Name | None = None


class Applicant(_Model):
    name: Name
    mobile: Mobile
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None
    wechat_openid: Annotated[str, StringConstraints(max_length=128)] | None = None

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str) -> str:
        return normalize_mobile(value)


class Assignee(_Model):
    id: PersonId
    name: Name | None = None
    mobile: Mobile | None = None
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None
    wecom_userid: Annotated[str, StringConstraints(max_length=128)] | None = None
    wechat_openid: Annotated[str, StringConstraints(max_length=128)] | None = None

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else normalize_mobile(value)


class LimitIn(_Model):
    value: Annotated[int, Field(ge=0, le=3650, strict=True)]
    unit: Unit

    def to_limit(self) -> Limit:
        return Limit(value=self.value, unit=self.unit)


class Project(_Model):
    id: Code
    name: Name
    manager: PersonId | None = None


class _Event(_Model):
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    occurred_at: Instant
    case_no: CaseNo


class CaseApplied(_Event):
    type: Literal["case.applied"]
    matter: Matter
    department: Department
    applicant: Applicant


class CaseAccepted(_Event):
    type: Literal["case.accepted"]
    matter: Matter
    department: Department
    applicant: Applicant
    limit: LimitIn
    green_channel: bool = False
    co_departments: tuple[Code, ...] = ()
    query_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{4,16}$")] | None = None
    project: Project | None = None


def _department_from_code(value: Any) -> Any:
    return {"code": value} if isinstance(value, str) else value


class NodeStarted(_Event):
    type: Literal["node.started"]
    node_id: Code
    name: Name
    department: Department
    assignee: Assignee
    limit: LimitIn | None = None

    @field_validator("department", mode="before")
    @classmethod
    def _bare_code(cls, value: Any) -> Any:
        return _department_from_code(value)


class NodeCompleted(_Event):
    type: Literal["node.completed"]
    node_id: Code
    outcome: Literal["pass", "return", "reject"]
    comment: Text | None = None


class CaseSuspended(_Event):
    type: Literal["case.suspended"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CaseResumed(_Event):
    type: Literal["case.resumed"]
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class CaseExtended(_Event):
    type: Literal["case.extended"]
    limit: LimitIn
    approved_by: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CaseDecided(_Event):
    type: Literal["case.decided"]
    decision: Literal["approved", "rejected"]


class CaseReadyForPickup(_Event):
    type: Literal["case.ready_for_pickup"]
    location: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    hours: Annotated[str, StringConstraints(max_length=200)] | None = None
    documents: tuple[Annotated[str, StringConstraints(max_length=200)], ...] = ()


class CasePickedUp(_Event):
    type: Literal["case.picked_up"]


class CaseClosed(_Event):
    type: Literal["case.closed"]


class CaseWithdrawn(_Event):
    type: Literal["case.withdrawn"]


Event = Annotated[
    CaseApplied
    | CaseAccepted
    | NodeStarted
    | NodeCompleted
    | CaseSuspended
    | CaseResumed
    | CaseExtended
    | CaseDecided
    | CaseReadyForPickup
    | CasePickedUp
    | CaseClosed
    | CaseWithdrawn,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES: tuple[str, ...] = (
    "case.applied",
    "case.accepted",
    "node.started",
    "node.completed",
    "case.suspended",
    "case.resumed",
    "case.extended",
    "case.decided",
    "case.ready_for_pickup",
    "case.picked_up",
    "case.closed",
    "case.withdrawn",
)
