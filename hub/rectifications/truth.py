"""Is a rectification reminder still true? Asked again by the dispatcher as it leaves.

A reminder may wait for the head's quiet hours; meanwhile the rectification may
have been verified or closed. Its context names the rectification
(``rectification_id``) and the step it chases (``rectification_step``: verify or
answer), so the dispatcher can cancel it, or narrow a merged one to the parts
still true (``hub/delivery/recheck.py``). Pure: the facts come in as values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.notices import NoticeKind
from hub.rectifications.model import Rectification

__all__ = ["RECHECKED", "rectification_ids", "untrue_because"]

RECHECKED = frozenset({NoticeKind.RECTIFICATION_DUE_SOON, NoticeKind.RECTIFICATION_OVERDUE})


def rectification_ids(context: Mapping[str, Any]) -> list[int]:
    """The rectifications a reminder (merged or not) speaks of."""
    items = context.get("merged_items") or [context]
    found = []
    for item in items:
        value = item.get("rectification_id")
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            found.append(int(value))
    return found


def untrue_because(
    kind: NoticeKind | str,
    item: Mapping[str, Any],
    rectifications: Mapping[int, Rectification],
    *,
    now: datetime,
) -> str | None:
    """Why the part ``item`` of a ``kind`` reminder no longer holds, or None if it does."""
    ids = rectification_ids(item)
    rect = rectifications.get(ids[0]) if ids else None
    if rect is None:
        return None  # nothing known to contradict it
    if rect.status == "closed":
        return "the rectification was closed"
    if item.get("rectification_step") == "verify" and rect.status != "open":
        return "the rectification was verified"
    if NoticeKind(kind) is NoticeKind.RECTIFICATION_DUE_SOON and (
        rect.rectify_due_at is None or rect.rectify_due_at <= now
    ):
        return "already due: the overdue notice speaks now"
    return None
