"""The last look before a reminder leaves: cancel what is no longer true.

Claimed rows of the kinds :data:`hub.notices.truth.RECHECKED` are checked
against the case and node as they are now. An untrue row is stored as
``cancelled`` with the reason (the message log shows it; nothing vanishes).
A merged reminder ("A、B等3件") whose cases are only partly still due is
re-rendered for the ones that are, so its words stay true too. Rectification
reminders (好差评) are checked against their rectifications the same way
(:mod:`hub.rectifications.truth`): verified or closed meanwhile, they are not sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from channels.render import compose
from core.notices import NoticeKind
from hub.notices.merge import merge_contexts
from hub.notices.sealing import recipient_of, seal_rendering
from hub.notices.truth import RECHECKED, untrue_because
from hub.privacy.vault import Vault
from hub.rectifications import truth as rectification_truth
from hub.rectifications.model import Rectification
from hub.store.queries import Q

log = structlog.get_logger(__name__)

Facts = tuple[dict[str, Mapping[str, Any]], dict[tuple[str, str], Mapping[str, Any]]]


def _refs(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    context = row["context"] or {}
    refs = context.get("merged_refs")
    if refs:
        return [(str(r[0]), str(r[1])) for r in refs]
    return [(row["case_no"] or "", row["node_id"] or "")]


async def _facts(conn: asyncpg.Connection, case_nos: Sequence[str]) -> Facts:
    cases: dict[str, Mapping[str, Any]] = {}
    nodes: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in await conn.fetch(Q["recheck_facts"], sorted(set(case_nos))):
        cases[r["case_no"]] = r
        if r["node_id"] is not None:
            nodes[(r["case_no"], r["node_id"])] = {
                "completed_at": r["node_completed_at"],
                "due_at": r["node_due_at"],
            }
    return cases, nodes


async def _rectification_facts(
    conn: asyncpg.Connection, rows: Sequence[Mapping[str, Any]]
) -> dict[int, Rectification]:
    ids = sorted(
        {i for r in rows for i in rectification_truth.rectification_ids(r["context"] or {})}
    )
    if not ids:
        return {}
    return {
        r["id"]: Rectification.from_row(r)
        for r in await conn.fetch(Q["rectifications_by_ids"], ids)
    }


async def recheck(
    conn: asyncpg.Connection,
    rows: Sequence[asyncpg.Record],
    *,
    owner: str,
    now: datetime,
    vault: Vault,
) -> list[Mapping[str, Any]]:
    """The claimed ``rows`` still worth sending (some re-rendered); the others cancelled."""
    checked = [r for r in rows if r["kind"] in RECHECKED]
    of_rectifications = [r for r in rows if r["kind"] in rectification_truth.RECHECKED]
    if not checked and not of_rectifications:
        return list(rows)
    cases, nodes = await _facts(conn, [c for r in checked for c, _ in _refs(r) if c])
    rects = await _rectification_facts(conn, of_rectifications)
    keep: list[Mapping[str, Any]] = []
    cancelled: dict[int, str] = {}  # id -> why: stored in one statement after the loop
    kinds = {row["id"]: row["kind"] for row in rows}
    for row in rows:
        if row["kind"] in rectification_truth.RECHECKED:
            context = row["context"] or {}
            reasons = [
                rectification_truth.untrue_because(row["kind"], item, rects, now=now)
                for item in (context.get("merged_items") or [context])
            ]
        elif row["kind"] not in RECHECKED:
            keep.append(row)
            continue
        else:
            reasons = [
                untrue_because(kind, cases.get(c), nodes.get((c, n)), node_id=n, now=now)
                for kind, (c, n) in ((row["kind"], ref) for ref in _refs(row))
            ]
        if all(reason is None for reason in reasons):
            keep.append(row)
        elif all(reason is not None for reason in reasons):
            reason = "; ".join(dict.fromkeys(r for r in reasons if r))
            cancelled[row["id"]] = reason
        else:
            true_items = [
                item
                for item, reason in zip(row["context"]["merged_items"], reasons, strict=True)
                if reason is None
            ]
            keep.append(await _rewrite(conn, row, true_items, owner=owner, now=now, vault=vault))
    if cancelled:
        await conn.execute(
            Q["recheck_cancel"],
            list(cancelled),
            owner,
            [f"no longer true: {reason}" for reason in cancelled.values()],
            now,
        )
        for message_id, reason in cancelled.items():
            kind = kinds[message_id]
            log.info("notice_cancelled", message_id=message_id, kind=kind, reason=reason)
    return keep


async def _rewrite(
    conn: asyncpg.Connection,
    row: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    *,
    owner: str,
    now: datetime,
    vault: Vault,
) -> Mapping[str, Any]:
    """A merged reminder re-merged from the items that are still true (stored sealed)."""
    if len(items) == 1:
        context = dict(items[0])
        node_id: str | None = str(context.pop("node_id", "")) or None
    else:
        context = merge_contexts(items)
        node_id = None
    if row["context"].get("link") is not None:
        context["link"] = row["context"]["link"]
    cases = {str(i.get("case_no", "")) for i in items}
    case_no = cases.pop() if len(cases) == 1 else None
    message = compose(
        message_id=str(row["id"]),
        kind=NoticeKind(row["kind"]),
        channel=row["channel"],
        recipient=recipient_of(vault, row),  # not part of the words; seal_rendering keeps it
        context=context,
        person_id=row["person_id"],
        case_no=case_no,
    )
    sealed, stored_context, params = seal_rendering(
        vault, row, body=message.body, html=message.html, context=context, params=message.params
    )
    updated = await conn.fetchrow(
        Q["recheck_rewrite"],
        row["id"],
        owner,
        case_no,
        node_id,
        stored_context,
        message.subject,
        sealed,
        params,
        now,
    )
    log.info("notice_narrowed", message_id=row["id"], kind=row["kind"], cases=case_no)
    return updated if updated is not None else row
