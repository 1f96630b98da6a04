"""One clear message instead of twenty: same-kind reminders to one person, fired together, merged.

At 09:00 on a busy morning a reviewer may have a dozen nodes turn overdue at
once. The tick merges the notices of one kind to one person in one batch into a
single notice that names the first cases and counts the rest (content dedupe);
the 08:30 digest already summarises the day (frequency dedupe).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from core.notices import NoticeKind
from hub.notices.outbox import Notice

COLLAPSIBLE = frozenset(
    {
        NoticeKind.NODE_DUE_SOON,
        NoticeKind.NODE_OVERDUE,
        NoticeKind.CASE_DUE_SOON,
        NoticeKind.CASE_OVERDUE,
    }
)
NAMED = 2  # how many cases a merged notice names before "等N件"


def _names(values: Sequence[str]) -> str:
    unique = list(dict.fromkeys(v for v in values if v))
    shown = "、".join(unique[:NAMED])
    return f"{shown}等" if len(unique) > NAMED else shown


def merge(group: Sequence[Notice]) -> Notice:
    """Several notices of one kind to one person as one; the first gives channel and timing."""
    first = group[0]
    if len(group) == 1:
        return first
    contexts = [n.context for n in group]
    case_nos = [str(c.get("case_no", "")) for c in contexts]
    matters = list(dict.fromkeys(str(c.get("matter", "")) for c in contexts))
    context = dict(first.context)
    context["case_no"] = f"{_names(case_nos)}{len(group)}件"
    context["matter"] = matters[0] if len(matters) == 1 else "多个事项"
    context["merged_case_nos"] = case_nos
    if "node_name" in context:
        context["node_name"] = _names([str(c.get("node_name", "")) for c in contexts])
    if "assignee_name" in context:
        context["assignee_name"] = _names([str(c.get("assignee_name", "")) for c in contexts])
    if "due_date" in context:
        context["due_date"] = min(str(c.get("due_date", "")) for c in contexts)
    if "overdue_days" in context:
        context["overdue_days"] = str(max(int(str(c.get("overdue_days", "0"))) for c in contexts))
    digest = hashlib.sha256("\n".join(sorted(n.dedupe_key for n in group)).encode()).hexdigest()
    return replace(
        first,
        dedupe_key=f"merged:{first.kind}:{first.person_id}:{digest[:24]}",
        context=context,
        case_no=None,
        node_id=None,
        not_before=min(n.not_before for n in group),
        note=f"{len(group)} notices merged: {', '.join(case_nos)}"
        + (f"; {first.note}" if first.note else ""),
    )


def collapse(notices: Sequence[Notice]) -> list[Notice]:
    """Merge collapsible notices by (person, kind); others pass through in order."""
    groups: dict[tuple[str | None, NoticeKind], list[Notice]] = {}
    out: list[Notice | tuple[str | None, NoticeKind]] = []
    for notice in notices:
        if notice.kind not in COLLAPSIBLE or notice.person_id is None:
            out.append(notice)
            continue
        key = (notice.person_id, notice.kind)
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append(notice)
    return [merge(groups[item]) if isinstance(item, tuple) else item for item in out]
