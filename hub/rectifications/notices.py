"""The notices of the 好差评 loop: the poor rating to the head, the reply to the applicant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from channels.render import render
from channels.sms_length import count_segments
from core.notices import NoticeKind
from hub.notices.outbox import Notice
from hub.notices.recipients import Recipient, Routing
from hub.notices.words import mask_mobile, mask_mobiles_in, mask_name
from hub.privacy.records import open_applicant
from hub.rectifications.errors import ReplyTooLong
from hub.rectifications.model import OUTCOME_WORDS, POOR_RATING_WORDS, Rectification

PENDING = "待定"  # a due date the calendar cannot give yet: said to be pending, never blank


def day(value: date | None, *, provisional: bool = False) -> str:
    """A due date as notices say it: 待定 when unknown, marked 暂定 on a provisional year."""
    if value is None:
        return PENDING
    return f"{value.isoformat()}（暂定）" if provisional else value.isoformat()


def rating_text(rating: int) -> str:
    return f"{POOR_RATING_WORDS[rating]}（{rating}分）"


def base_context(rect: Rectification, routing: Routing, now: datetime) -> dict[str, Any]:
    return {
        "case_no": rect.case_no,
        "matter": rect.matter_name or "",
        "department": rect.department_name or rect.department_code or "",
        "link": routing.case_link(rect.case_no, now),
    }


def poor_rating_notice(
    rect: Rectification,
    applicant: Any,
    who: Recipient,
    routing: Routing,
    now: datetime,
) -> Notice:
    """To the head (or deputy) at once: the case, the rating and comment, masked who and a link
    to the case page (not the inbox: the page shows the rating and the case's timeline).
    ``applicant`` is the case row's, sealed or not."""
    applicant = open_applicant(routing.vault, applicant) or {}
    context = base_context(rect, routing, now) | {
        "rating": rating_text(rect.rating),
        "comment": mask_mobiles_in(rect.comment or ""),
        "applicant": mask_name(str(applicant.get("name") or "")) or "申请人",
        "mobile": mask_mobile(str(applicant.get("mobile") or "")) or "未留手机",
        "verify_due_date": day(rect.verify_due_date),
        "rectify_due_date": day(rect.rectify_due_date, provisional=rect.provisional),
    }
    notice = routing.reviewer_notice(
        who,
        NoticeKind.POOR_RATING,
        f"poor_rating:{rect.id}",
        context,
        now=now,
        case_no=rect.case_no,
    )
    # Queued at once, sent like every reviewer notice: on a working day, outside quiet hours.
    return replace(notice, context=context)


def reply_context(
    rect: Rectification, outcome: str, reply: str, routing: Routing, now: datetime
) -> dict[str, Any]:
    return base_context(rect, routing, now) | {
        "outcome": OUTCOME_WORDS[outcome],
        "reply": reply,
    }


def check_reply_fits(routing: Routing, context: Mapping[str, Any]) -> None:
    """Refuse a reply whose SMS would exceed ``channels.sms.max_segments`` (signature included)."""
    sms = routing.settings.channels.sms
    sign_name = str(getattr(getattr(sms, sms.provider, None), "sign_name", "") or "")
    text = render(NoticeKind.RECTIFICATION_REPLY, "sms", context)
    segments = count_segments(text, sign_name)
    if segments > sms.max_segments:
        limit = (
            f"the limit is {sms.max_segments} segments (channels.sms.max_segments: 70 characters "
            "for one, 67 per segment when longer, signature included)"
        )
        raise ReplyTooLong(
            f"the reply makes a {len(text)}-character SMS of {segments} segments; {limit} — "
            "shorten the reply",
            errors=[{"field": "reply", "message": f"too long for the applicant's SMS; {limit}"}],
        )


def reply_notices(
    rect: Rectification,
    applicant: Any,
    context: Mapping[str, Any],
    routing: Routing,
    now: datetime,
) -> list[Notice]:
    """The answer, mandatory, on every channel the applicant has (not just the first).
    ``applicant`` is the case row's, sealed or not."""
    applicant = open_applicant(routing.vault, applicant)
    if not applicant:
        return []
    return [
        Notice(
            kind=NoticeKind.RECTIFICATION_REPLY,
            dedupe_key=f"rectification_reply:{rect.id}",  # the outbox adds |channel
            addresses=[address],
            context=context,
            not_before=routing.applicant_time(now),
            case_no=rect.case_no,
        )
        for address in routing.applicant_addresses(applicant)
    ]
