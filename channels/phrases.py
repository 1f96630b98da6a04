"""Whole phrases for optional facts, so no template ever shows an empty slot.

An SMS template is registered at the provider as fixed text with variables
(``${pickup_time}``); a missing fact cannot be skipped with an ``if`` there.
So the sentence part that depends on an optional field is one variable, worded
for both cases: pickup hours given or not, documents to bring or none, a
promised date known or pending (contract: "No text ever shows an empty slot").

Pure: :func:`with_phrases` derives the phrases from the raw context fields
(``hours``, ``documents``, ``due_date``, ``provisional``, ``overdue_days``) when the
context has them and the phrase is not already set; an empty ``matter`` is said to be
pending. A date that rests on the
provisional next year (statutory holidays only, the State Council's notice not
yet imported) says so.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "PENDING_DATE",
    "PENDING_MATTER",
    "PROVISIONAL_NOTE",
    "pickup_bring",
    "pickup_time",
    "promise",
    "promised_date",
    "with_phrases",
]

#: Said of a date computed from the statutory holidays alone (no 调休 yet).
PROVISIONAL_NOTE = "暂按法定节假日推算"
#: Said instead of a date the calendar cannot give yet; promised_date_changed keeps the promise.
PENDING_DATE = "待定，确定后另行告知"
#: Said instead of a matter the approval system has not named yet (a case known only from
#: ``node.started``): a registered SMS text has "（${matter}）", which must not read "（）".
PENDING_MATTER = "事项名称待补充"


def pickup_time(hours: str) -> str:
    """The time phrase: "于工作日9-17时", or "在工作时间内" when no hours are given."""
    return f"于{hours}" if hours else "在工作时间内"


def pickup_bring(documents: str) -> str:
    """The bring phrase: "，请携带身份证", or nothing when no documents are named."""
    return f"，请携带{documents}" if documents else ""


def promise(due_date: str, provisional: bool = False) -> str:
    """The promise: "承诺2026-03-26前办结" (and "（暂按法定节假日推算）"), or that the date
    is pending."""
    if not due_date:
        return f"承诺办结日期{PENDING_DATE}"
    note = f"（{PROVISIONAL_NOTE}）" if provisional else ""
    return f"承诺{due_date}前办结{note}"


def promised_date(due_date: str, provisional: bool = False) -> str:
    """The date for a "承诺办结日期：" line: the date (noted if provisional), or pending."""
    if not due_date:
        return PENDING_DATE
    return f"{due_date}（{PROVISIONAL_NOTE}）" if provisional else due_date


def with_phrases(context: Mapping[str, object]) -> dict[str, object]:
    """``context`` plus the phrases its optional fields call for (set ones are kept)."""
    derived: dict[str, object] = {}
    if "hours" in context:
        derived["pickup_time"] = pickup_time(str(context["hours"] or ""))
    if "documents" in context:
        derived["pickup_bring"] = pickup_bring(str(context["documents"] or ""))
    if "due_date" in context:
        due_date = str(context["due_date"] or "")
        provisional = bool(context.get("provisional"))
        derived["promise"] = promise(due_date, provisional)
        derived["promised_date"] = promised_date(due_date, provisional)
    if "overdue_days" in context:
        # Stored before overdue_for existed (a fallback re-renders an old row): days.
        derived["overdue_for"] = f"{context['overdue_days']}个工作日"
    phrased = derived | dict(context)
    if "matter" in phrased and not phrased["matter"]:
        phrased["matter"] = PENDING_MATTER
    return phrased
