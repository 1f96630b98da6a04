"""Is a reminder still true? Asked again when it is about to leave.

A reminder may wait in the outbox for hours — quiet hours, the next office
start, a provider's pacing. The contract: "a notice held back is checked again
at send time and cancelled if what it says no longer holds (the node
completed, the case was suspended or closed)". A due-soon reminder is also
untrue once its node is due (the overdue notice speaks then), and an overdue
one once its deadline moved past now.

Pure: the facts come in as mappings (rows of ``cases`` and ``nodes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.notices import NoticeKind

__all__ = ["RECHECKED", "untrue_because"]

# The kinds whose words depend on a node's or case's state at the moment they are read.
RECHECKED = frozenset(
    {
        NoticeKind.NODE_DUE_SOON,
        NoticeKind.NODE_OVERDUE,
        NoticeKind.CASE_DUE_SOON,
        NoticeKind.CASE_OVERDUE,
        NoticeKind.URGE,
    }
)


def untrue_because(
    kind: NoticeKind | str,
    case: Mapping[str, Any] | None,
    node: Mapping[str, Any] | None,
    *,
    node_id: str,
    now: datetime,
) -> str | None:
    """Why a ``kind`` notice about ``case`` (and ``node``) is no longer true, or None if it is."""
    kind = NoticeKind(kind)
    if kind not in RECHECKED:
        return None
    if case is None:
        return None  # nothing known to contradict it (a message queued by other means)
    if case["withdrawn_at"] is not None:
        return "the case was withdrawn"
    if case["closed_at"] is not None:
        return "the case was closed"
    if case["suspended_since"] is not None:
        return "the case is suspended"
    if node_id:
        if node is None:
            return "the node is gone"
        if node["completed_at"] is not None:
            return "the node was completed"
        due_at = node["due_at"]
    else:
        if case["completed_at"] is not None:
            return "the case was completed"
        due_at = case["due_at"]
    due_soon = kind in (NoticeKind.NODE_DUE_SOON, NoticeKind.CASE_DUE_SOON)
    overdue = kind in (NoticeKind.NODE_OVERDUE, NoticeKind.CASE_OVERDUE)
    if due_soon and (due_at is None or due_at <= now):
        return "already due: the overdue notice speaks now"
    if overdue and (due_at is None or due_at > now):
        return "no longer overdue: the deadline moved"
    return None
