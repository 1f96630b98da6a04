"""One clear message instead of twenty: same-kind reminders to one person, fired together, merged.

At 09:00 on a busy morning a reviewer may have a dozen nodes turn overdue at
once. The tick merges the notices of one kind to one person in one batch into a
single notice that names the first cases and counts the rest (content dedupe);
the 08:30 digest already summarises the day (frequency dedupe).

The contract's wording: the first cases separated by 、 and the number of
distinct **cases** — "A、B等5件"; two cases read "A、B", one case (two nodes of
it, say its own and a co-department's) reads "A". Case-level alerts merge only
within one department, so the department named is the cases' own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from core.notices import NoticeKind
from hub.notices.outbox import Notice

COLLAPSIBLE = frozenset(
    {
        NoticeKind.NODE_DUE_SOON,
        NoticeKind.NODE_OVERDUE,
        NoticeKind.CASE_DUE_SOON,
        NoticeKind.CASE_OVERDUE,
        NoticeKind.RECTIFICATION_DUE_SOON,
        NoticeKind.RECTIFICATION_OVERDUE,
    }
)
# Supervisors oversee several departments: their yellow and red alerts merge per department.
PER_DEPARTMENT = frozenset({NoticeKind.CASE_DUE_SOON, NoticeKind.CASE_OVERDUE})
NAMED = 2  # how many cases a merged notice names before "等N件"
_MERGE_KEYS = frozenset({"merged_case_nos", "merged_refs", "merged_items", "case_count", "link"})


def distinct(values: Sequence[str]) -> list[str]:
    """Non-empty values in first-seen order, each once."""
    return list(dict.fromkeys(v for v in values if v))


def case_list(case_nos: Sequence[str]) -> str:
    """ "A", "A、B", "A、B等5件": the first cases and, beyond two, how many in all."""
    cases = distinct(case_nos)
    shown = "、".join(cases[:NAMED])
    return f"{shown}等{len(cases)}件" if len(cases) > NAMED else shown


def _names(values: Sequence[str]) -> str:
    unique = distinct(values)
    shown = "、".join(unique[:NAMED])
    return f"{shown}等" if len(unique) > NAMED else shown


def _deadline(context: Mapping[str, Any]) -> tuple[int, str]:
    """Earliest first: by the instant (UTC ISO, as the tick stores it) when known.

    An hours node's ``due_date`` reads "9月24日14:10", which does not sort; contexts
    without ``due_at`` (rectifications, rows queued before it was stored) sort by
    their ISO date as before, after any with an instant.
    """
    if context.get("due_at"):
        return (0, str(context["due_at"]))
    return (1, str(context.get("due_date", "")))


def merge_contexts(contexts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The context of one notice standing for ``contexts`` (same kind, same person)."""
    first = contexts[0]
    case_nos = [str(c.get("case_no", "")) for c in contexts]
    matters = distinct([str(c.get("matter", "")) for c in contexts])
    context = dict(first)
    context["case_no"] = case_list(case_nos)
    context["matter"] = "多个事项" if len(matters) > 1 else "".join(matters)
    context["case_count"] = str(len(distinct(case_nos)))
    context["merged_case_nos"] = distinct(case_nos)
    # Which (case, node) pairs it speaks of, and what each alone said: the dispatcher
    # re-checks them at send time and re-merges the ones still true.
    context["merged_refs"] = [
        [str(c.get("case_no", "")), str(c.get("node_id", ""))] for c in contexts
    ]
    context["merged_items"] = [
        {k: v for k, v in c.items() if k not in _MERGE_KEYS} for c in contexts
    ]
    for key in ("node_name", "assignee_name", "department"):
        if key in context:
            context[key] = _names([str(c.get(key, "")) for c in contexts])
    if "due_date" in context:
        dated = [c for c in contexts if c.get("due_date")]
        earliest = min(dated, key=_deadline) if dated else {}
        context["due_date"] = earliest.get("due_date", "")
        context.pop("due_at", None)
        if earliest.get("due_at"):
            context["due_at"] = earliest["due_at"]
    if "overdue_days" in context:
        context["overdue_days"] = str(max(int(str(c.get("overdue_days", "0"))) for c in contexts))
    if "overdue_for" in context:
        longest = max(contexts, key=lambda c: int(str(c.get("overdue_minutes", 0))))
        context["overdue_for"] = longest.get("overdue_for", "")
        context["overdue_minutes"] = longest.get("overdue_minutes", 0)
    context.pop("node_id", None)
    return context


def merge(group: Sequence[Notice]) -> Notice:
    """Several notices of one kind to one person as one; the first gives channel and timing."""
    first = group[0]
    if len(group) == 1:
        return first
    contexts = [dict(n.context) | {"node_id": n.node_id or ""} for n in group]
    context = merge_contexts(contexts)
    cases = context["merged_case_nos"]
    digest = hashlib.sha256("\n".join(sorted(n.dedupe_key for n in group)).encode()).hexdigest()
    return replace(
        first,
        dedupe_key=f"merged:{first.kind}:{first.person_id}:{digest[:24]}",
        context=context,
        # Two nodes of one case are still a notice about that case.
        case_no=cases[0] if len(cases) == 1 else None,
        node_id=None,
        not_before=min(n.not_before for n in group),
        note=f"{len(group)} notices merged: {', '.join(str(c[0]) for c in context['merged_refs'])}"
        + (f"; {first.note}" if first.note else ""),
    )


def _group_key(notice: Notice) -> tuple[str | None, NoticeKind, str]:
    scope = str(notice.context.get("department", "")) if notice.kind in PER_DEPARTMENT else ""
    return (notice.person_id, notice.kind, scope)


def collapse(notices: Sequence[Notice]) -> list[Notice]:
    """Merge collapsible notices by (person, kind[, department]); others pass through in order."""
    groups: dict[tuple[str | None, NoticeKind, str], list[Notice]] = {}
    out: list[Notice | tuple[str | None, NoticeKind, str]] = []
    for notice in notices:
        if notice.kind not in COLLAPSIBLE or notice.person_id is None:
            out.append(notice)
            continue
        key = _group_key(notice)
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append(notice)
    return [merge(groups[item]) if isinstance(item, tuple) else item for item in out]
