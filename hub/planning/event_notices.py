"""The notices an event causes at once, written in the ingest transaction.

The 受理 receipt with its query code, the green-channel notice to the head,
a missing calendar year to the supervisors, the 事中 notices of a suspension
and its end, and the pickup notice. Reminders that wait for a deadline are
timers instead (:mod:`hub.planning.timers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from core.events import CaseAccepted, CaseReadyForPickup, CaseResumed, CaseSuspended, Event
from core.notices import NoticeKind
from hub.notices.notify import case_context, notify
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Routing, unique
from hub.notices.words import limit_words, suspension_reason
from hub.privacy.records import open_applicant
from hub.store.queries import Q


async def queue_event_notices(
    conn: asyncpg.Connection,
    routing: Routing,
    events: Sequence[Event],
    *,
    now: datetime,
    cases: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Notices an event causes at once: the 受理 receipt, 事中 notices, the pickup notice.

    ``cases``: the events' cases as just written (``cases_for_planning``'s columns, by
    case number); read when not given.
    """
    interesting = [
        e
        for e in events
        if isinstance(e, CaseAccepted | CaseSuspended | CaseResumed | CaseReadyForPickup)
    ]
    if not interesting:
        return
    case_nos = unique([e.case_no for e in interesting])
    if cases is None:
        cases = {r["case_no"]: r for r in await conn.fetch(Q["cases_for_planning"], case_nos)}
    heads = {
        r["code"]: r
        for r in await conn.fetch(
            Q["departments_by_code"], unique([c["department_code"] for c in cases.values()])
        )
    }
    person_ids = [h["head"] for h in heads.values()]
    person_ids += [p for h in heads.values() for p in h["supervisors"]]

    def build(people: People) -> list[Notice]:
        notices: list[Notice] = []
        for event in interesting:
            case = cases[event.case_no]
            department = heads.get(case["department_code"])
            notices += event_notices(routing, event, case, department, people, now)
        return notices

    await notify(conn, routing, person_ids, build, now=now)


def applicant_notice(
    routing: Routing,
    kind: NoticeKind,
    key: str,
    case: Mapping[str, Any],
    context: dict[str, Any],
    now: datetime,
) -> list[Notice]:
    """A notice to the case's applicant (none if the case names none), outside quiet hours."""
    applicant = open_applicant(routing.vault, case["applicant"])
    if not applicant:
        return []
    return [
        Notice(
            kind=kind,
            dedupe_key=key,
            addresses=routing.applicant_addresses(applicant),
            context=context,
            not_before=routing.applicant_time(now),
            case_no=case["case_no"],
        )
    ]


def event_notices(
    routing: Routing,
    event: Event,
    case: Mapping[str, Any],
    department: Mapping[str, Any] | None,
    people: People,
    now: datetime,
) -> list[Notice]:
    """What ``event`` tells the applicant (and, on acceptance, the head or supervisors)."""
    context = case_context(routing, case, now)

    def tell_applicant(kind: NoticeKind, **said: str) -> list[Notice]:
        # One notice per event: the event id keeps a repeated delivery of it from a second.
        key = f"{kind.value}:{case['case_no']}:{event.event_id}"
        return applicant_notice(routing, kind, key, case, context | said, now)

    match event:
        case CaseAccepted():
            return _accepted(routing, event, case, department, people, context, now)
        case CaseSuspended():
            return tell_applicant(NoticeKind.CASE_SUSPENDED, reason=suspension_reason(event.reason))
        case CaseResumed():
            return tell_applicant(NoticeKind.CASE_RESUMED)
        case CaseReadyForPickup():
            return tell_applicant(
                NoticeKind.PICKUP_NOTICE,
                location=event.location,
                hours=event.hours or "",
                documents="、".join(event.documents),
            )
    return []


def _accepted(
    routing: Routing,
    event: CaseAccepted,
    case: Mapping[str, Any],
    department: Mapping[str, Any] | None,
    people: People,
    context: dict[str, Any],
    now: datetime,
) -> list[Notice]:
    case_no = case["case_no"]
    notices = applicant_notice(
        routing,
        NoticeKind.CASE_ACCEPTED,
        f"case_accepted:{case_no}",
        case,
        context | {"query_code": case["query_code"] or ""},
        now,
    )
    if case["deadline_unknown"] and department:
        notices += _deadline_unknown(routing, case, department, people, context, now)
    if event.green_channel and department and department["head"]:
        head = people.recipient(department["head"], now)
        # The limit in force, not the one asked for: a green channel halves it (ceil(N / 2)).
        value = case["limit_value"]
        limit = limit_words(-(-value // 2) if value else value, case["limit_unit"])
        notices.append(
            routing.reviewer_notice(
                head,
                NoticeKind.GREEN_CHANNEL,
                f"green_channel:{case_no}",
                context | {"limit": limit},
                now=now,
                case_no=case_no,
            )
        )
    return notices


def _deadline_unknown(
    routing: Routing,
    case: Mapping[str, Any],
    department: Mapping[str, Any],
    people: People,
    context: dict[str, Any],
    now: datetime,
) -> list[Notice]:
    """Nothing is dropped: supervisors learn that a year's calendar is missing."""
    year = max(routing.calendar.years) + 1
    return [
        routing.reviewer_notice(
            people.recipient(person_id, now),
            NoticeKind.DEADLINE_UNKNOWN,
            f"deadline_unknown:{case['case_no']}",
            context | {"year": str(year)},
            now=now,
            case_no=case["case_no"],
        )
        for person_id in department["supervisors"]
    ]
