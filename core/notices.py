"""Notice kinds and the outbound message value object.

A *notice* is something Cuiban tells a person (the contract's "Notices" table);
an *outbound message* is one notice rendered for one channel and one address,
ready for a channel adapter. Pure and stdlib only: ``core`` never imports
``channels`` or ``hub``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from core.errors import InputError

__all__ = [
    "MANDATORY_KINDS",
    "OPTIONAL_KINDS",
    "ChannelKind",
    "MessageStatus",
    "NoticeKind",
    "OutboundMessage",
    "is_mandatory",
]


class NoticeKind(StrEnum):
    """The ``kind`` in the message log (contract: "Notices Cuiban sends")."""

    CASE_ACCEPTED = "case_accepted"
    GREEN_CHANNEL = "green_channel"
    NODE_DUE_SOON = "node_due_soon"
    NODE_OVERDUE = "node_overdue"
    CASE_DUE_SOON = "case_due_soon"
    CASE_OVERDUE = "case_overdue"
    URGE = "urge"
    CASE_SUSPENDED = "case_suspended"
    CASE_RESUMED = "case_resumed"
    PICKUP_NOTICE = "pickup_notice"
    EVALUATION_PROMPT = "evaluation_prompt"
    DAILY_DIGEST = "daily_digest"
    STATUS_REPLY = "status_reply"
    ANNOUNCEMENT = "announcement"
    POOR_RATING = "poor_rating"  # 好差评: a rating of 1 or 2, to the department head
    RECTIFICATION_DUE_SOON = "rectification_due_soon"
    RECTIFICATION_OVERDUE = "rectification_overdue"
    RECTIFICATION_REPLY = "rectification_reply"  # the department's answer, to the applicant
    # Beyond the contract's list (it allows additions):
    VERIFICATION_CODE = "verification_code"  # WAP login by mobile number
    APPOINTMENT_SLOTS = "appointment_slots"  # answer to an SMS 'YY <case_no>' (短信预约)
    APPOINTMENT_REMINDER = "appointment_reminder"  # the working day before a booked pickup
    APPOINTMENT_CONFIRMED = "appointment_confirmed"  # the answer to a slot number: booked
    COMPLAINT = "complaint"  # an applicant's complaint, to the supervisors
    DEADLINE_UNKNOWN = "deadline_unknown"  # the calendar lacks a year the deadline needs
    MONTHLY_REPORT = "monthly_report"  # 电子监察月报, to supervisors on the first working day
    PROJECT_DIGEST = "project_digest"  # an investment project's changes, to its manager
    PROMISED_DATE_CHANGED = "promised_date_changed"  # a calendar import moved or gave the date
    CALENDAR_MISSING = "calendar_missing"  # weekly, to supervisors: next year not imported


# Optional notices are the ones a person may opt out of (an SMS reply ``TD``) and
# that may be dropped by quiet hours or per-member limits in favour of a digest.
# Everything else is mandatory: the law (事中告知, 办结告知) or the supervision duty
# requires that it reaches the person, through a fallback channel if need be.
OPTIONAL_KINDS: frozenset[NoticeKind] = frozenset(
    {
        NoticeKind.EVALUATION_PROMPT,
        NoticeKind.DAILY_DIGEST,
        NoticeKind.ANNOUNCEMENT,
        NoticeKind.APPOINTMENT_REMINDER,
        NoticeKind.PROJECT_DIGEST,
    }
)
MANDATORY_KINDS: frozenset[NoticeKind] = frozenset(NoticeKind) - OPTIONAL_KINDS


def is_mandatory(kind: NoticeKind | str) -> bool:
    """Whether a notice of this kind must reach its person (no opt-out, fallback on failure)."""
    return NoticeKind(kind) in MANDATORY_KINDS


class ChannelKind(StrEnum):
    """The medium a message travels by: the ``channel`` in the message log.

    Which provider carries an ``sms`` (Aliyun, Tencent, a local gateway, the
    console) is configuration (``channels.sms.provider``), not part of the message.
    """

    SMS = "sms"
    EMAIL = "email"
    WECOM = "wecom"
    WECHAT_MP = "wechat_mp"
    WAP = "wap"


class MessageStatus(StrEnum):
    """Where a message stands: the ``status`` in the message log (contract: ``GET /v1/messages``).

    queued → sending → sent (→ delivered on a receipt); failed waits for a retry;
    dead after ``policy.max_attempts`` or a permanent error; cancelled when a
    broadcast is cancelled.
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


# Still to be tried, or being tried: a broadcast's progress counts these as waiting.
WAITING_STATUSES = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.FAILED})


def _frozen_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboundMessage:
    """One notice rendered for one channel and one recipient address.

    ``id`` is Cuiban's message id: adapters hand it to the provider wherever the
    provider echoes or deduplicates an id (Aliyun ``OutId``, Tencent
    ``SessionContext``, WeChat ``client_msg_id``, the e-mail ``Message-ID``).

    ``body`` is the text Cuiban would send (for SMS: without the 【signature】,
    which the provider adds); ``params`` are the provider-template variables in
    the order they first appear in the SMS template (Aliyun ``TemplateParam``,
    Tencent ``TemplateParamSet``). ``subject`` is the e-mail subject or the
    WeCom card title; ``html`` the HTML e-mail part; ``link`` the WAP page.
    """

    id: str
    kind: NoticeKind
    channel: ChannelKind
    recipient: str
    body: str
    person_id: str | None = None
    case_no: str | None = None
    subject: str | None = None
    html: str | None = None
    link: str | None = None
    params: Mapping[str, str] = field(default_factory=dict, hash=False)
    context: Mapping[str, object] = field(default_factory=dict, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 64:
            raise InputError("a message id must be 1–64 characters")
        if not self.recipient.strip():
            raise InputError(f"message {self.id}: the recipient address is empty")
        object.__setattr__(self, "kind", NoticeKind(self.kind))
        object.__setattr__(self, "channel", ChannelKind(self.channel))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "context", _frozen_mapping(self.context))

    @property
    def mandatory(self) -> bool:
        """Whether this message's kind is mandatory (see :data:`MANDATORY_KINDS`)."""
        return self.kind in MANDATORY_KINDS
