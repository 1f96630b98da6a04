"""A supervisor's 催办 to a case's current assignees, counted and audited.

Asked for by ``POST /v1/cases/{case_no}/urge`` (hub/api/urges.py) and the
supervision page's button.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from pydantic import BaseModel, ConfigDict, StringConstraints

from core.errors import Conflict
from core.notices import NoticeKind
from hub.notices.notify import case_context, notify
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Routing
from hub.notices.words import CHANNEL_WORDS, SEND_WORDS
from hub.store.queries import Q
from hub.supervision import audit

WEEKDAYS = "一二三四五六日"


class UrgeIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class NothingToUrge(Conflict):
    """The case has no open node to urge."""


@dataclass(frozen=True, kw_only=True)
class Urged:
    urge_id: int
    nodes: tuple[str, ...]
    notices: int


async def urge_case(
    conn: asyncpg.Connection,
    routing: Routing,
    case_no: str,
    *,
    by: str,
    note: str,
    now: datetime,
    max_attempts: int,
    audit_as: tuple[str, str] | None = None,
) -> Urged | None:
    """Record a 催办 and queue it to every open node's assignee; None if there is no such case."""
    async with conn.transaction():
        case = await conn.fetchrow(Q["lock_case_for_urge"], case_no)
        if case is None:
            return None
        nodes = await conn.fetch(Q["open_nodes_of_case"], case_no)
        if not nodes:
            raise NothingToUrge(f"case {case_no!r} has no open node to urge")
        urge_id: int = await conn.fetchval(Q["insert_urge"], case_no, by, note, now)
        if audit_as is not None:
            role, actor = audit_as
            await audit.record(
                conn,
                at=now,
                role=role,
                actor=actor,
                action="case.urge",
                subject=case_no,
                detail={"urge_id": urge_id, "by": by, "note": note},
            )
        await conn.execute(Q["count_urge"], case_no, [n["node_id"] for n in nodes])

        def build(people: People) -> list[Notice]:
            context = case_context(routing, case, now)
            context |= {"by_name": people.display_name(by, unknown="督办人员"), "note": note}
            return [
                routing.reviewer_notice(
                    people.recipient(node["assignee_id"], now),
                    NoticeKind.URGE,
                    f"urge:{urge_id}:{node['node_id']}",
                    context | {"node_name": node["name"]},
                    now=now,
                    case_no=case_no,
                    node_id=node["node_id"],
                )
                for node in nodes
            ]

        person_ids = [n["assignee_id"] for n in nodes] + [by]
        queued = await notify(conn, routing, person_ids, build, now=now)
    return Urged(urge_id=urge_id, nodes=tuple(n["node_id"] for n in nodes), notices=queued)


def urge_confirmation(
    rows: Sequence[Mapping[str, Any]], routing: Routing, *, now: datetime
) -> dict[str, Any]:
    """The supervise page's confirmation of one 催办 (rows of ``urge_confirmation``)."""
    tz = routing.tz
    policy = routing.settings.policy
    items = []
    held = False
    for row in rows:
        at = row["not_before"]
        later = at > now and row["status"] in ("queued", "failed")
        held = held or later
        local = at.astimezone(tz)
        items.append(
            {
                "person": row["person_name"] or row["person_id"],
                "node": row["node_name"] or "",
                "channel": CHANNEL_WORDS.get(row["channel"], row["channel"]),
                "when": (
                    f"将于 {local:%Y-%m-%d %H:%M} 星期{WEEKDAYS[local.weekday()]}发送"
                    if later
                    else "即将发送"
                    if row["status"] == "queued"
                    else SEND_WORDS.get(row["status"], row["status"])
                ),
            }
        )
    return {
        "case_no": rows[0]["case_no"],
        "urged_at": rows[0]["urged_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "items": items,
        "held": (
            f"审批人员只在工作日、免打扰时段（{policy.quiet_hours}）之外接收提醒，"
            f"非工作日顺延至下一个工作日 {policy.office_start:%H:%M}。"
            if held
            else None
        ),
    }
