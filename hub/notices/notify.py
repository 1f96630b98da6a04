"""Telling people: load them once, build their notices, put the notices in the outbox.

Every producer of notices (event notices, the tick, digests, reports, urges,
complaints, replies) runs the same sequence inside its own transaction;
:func:`notify` is that sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from core.notices import NoticeKind
from hub.notices.budget import keep_sms_budget
from hub.notices.merge import collapse
from hub.notices.outbox import Notice, enqueue
from hub.notices.recipients import People, Routing, unique


async def notify(
    conn: asyncpg.Connection,
    routing: Routing,
    person_ids: Iterable[str | None],
    build: Callable[[People], Iterable[Notice]],
    *,
    now: datetime,
    merge: bool = False,
) -> int:
    """Load ``person_ids`` (deputies resolved), enqueue what ``build`` makes of them.

    ``merge`` folds several notices of one kind to one person into one
    (the tick's reminders). Reminders past a person's daily SMS budget go by their
    other channels (:mod:`hub.notices.budget`). Returns how many messages are new.
    """
    people = await People.load(conn, [p for p in person_ids if p], routing)
    notices: Sequence[Notice] = list(build(people))
    if merge:
        notices = collapse(notices)
    notices = await keep_sms_budget(conn, routing, notices)
    return await enqueue(
        conn,
        notices,
        now=now,
        max_attempts=routing.settings.policy.max_attempts,
        vault=routing.vault,
    )


async def notify_reviewers(
    conn: asyncpg.Connection,
    routing: Routing,
    person_ids: Sequence[str | None],
    kind: NoticeKind,
    key: str,
    context: Mapping[str, Any],
    *,
    now: datetime,
    case_no: str | None = None,
    link: str | None = None,
) -> int:
    """The same notice to each of ``person_ids`` (a deputy while one is away), once each."""
    targets = unique(list(person_ids))

    def build(people: People) -> list[Notice]:
        return [
            routing.reviewer_notice(
                people.recipient(person_id, now),
                kind,
                key,
                context,
                now=now,
                case_no=case_no,
                link=link,
            )
            for person_id in targets
        ]

    return await notify(conn, routing, targets, build, now=now)


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


def case_context(routing: Routing, case: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What every notice about a case can say: its number, matter, department, due date, link."""
    return {
        "case_no": case["case_no"],
        "matter": case["matter_name"] or "",
        "department": case["department_name"] or case["department_code"] or "",
        "due_date": day(case["due_date"]),
        # Said with the date wherever it is shown (channels.phrases): "暂按法定节假日推算".
        "provisional": "1" if case.get("provisional") else "",
        "link": routing.case_link(case["case_no"], now),
    }
