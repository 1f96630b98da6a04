"""The 好差评 closed loop: open a rectification for a poor rating, verify it, close it.

Every step runs inside the caller's transaction and writes its notices there
too (the outbox rule): the head hears of a poor rating in the transaction that
stores the rating; the applicant's reply is queued in the one that closes it.
Plain values in, domain errors out (:mod:`hub.rectifications.errors`); the
API maps them to problem+json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from core.errors import InputError
from hub.notices.outbox import enqueue
from hub.notices.recipients import People, Routing, unique
from hub.privacy.fields import RECTIFICATIONS_COMMENT, RECTIFICATIONS_REPLY
from hub.privacy.vault import Vault
from hub.rectifications import notices, timers
from hub.rectifications.deadlines import Deadlines, deadlines_for
from hub.rectifications.errors import RectificationConflict, RectificationNotFound
from hub.rectifications.model import OUTCOMES, POOR_RATINGS, Rectification
from hub.store.queries import Q
from hub.supervision.audit import record

__all__ = ["Closed", "close", "get", "open_for_rating", "verify"]

log = structlog.get_logger(__name__)

#: Who did it, for the audit trail: (role, actor) as the API's auth saw them.
AuditAs = tuple[str, str]


@dataclass(frozen=True, kw_only=True)
class Closed:
    rectification: Rectification
    notices: int  # reply messages queued: one per channel the applicant has


async def open_for_rating(
    conn: asyncpg.Connection,
    routing: Routing,
    *,
    case_no: str,
    rating: int,
    comment: str | None,
    source: str,
    now: datetime,
) -> Rectification | None:
    """Open one for a rating of 1 or 2; None for a good rating, an unknown case, or when one
    is already open for the case (a later rating never opens a second)."""
    if rating not in POOR_RATINGS:
        return None
    case = await conn.fetchrow(Q["rectification_case"], case_no)
    if case is None:
        return None
    supervisors = unique(list(case["supervisors"] or []))  # None: no directory entry yet
    people = await People.load(conn, [case["head"], case["deputy"], *supervisors], routing)
    # The lead department's head, the department's deputy if it has no head; People
    # routes to the head's own deputy while the head is away.
    responsible = case["head"] or case["deputy"]
    who = people.recipient(responsible, now) if responsible else None
    row = await _insert(
        conn,
        case,
        rating=rating,
        comment=routing.vault.seal_optional(comment, field=RECTIFICATIONS_COMMENT),
        source=source,
        head=who.person_id if who else None,
        due=deadlines_for(now, routing.settings.policy, routing.calendar, routing.tz),
        now=now,
    )
    if row is None:
        log.info("rectification_already_open", case_no=case_no)
        return None
    rect = Rectification.from_row({**row, "matter_name": case["matter_name"]}, routing.vault)
    await timers.plan(conn, rect, routing)
    # No head or deputy on file: the supervisors hear of it instead; nothing is dropped.
    recipients = [who] if who else [people.recipient(p, now) for p in supervisors]
    if not recipients:
        # Still stored, listed and counted; the supervision page shows it unassigned.
        log.warning(
            "rectification_without_head", case_no=case_no, department=case["department_code"]
        )
    queued = await enqueue(
        conn,
        [notices.poor_rating_notice(rect, case["applicant"], r, routing, now) for r in recipients],
        now=now,
        max_attempts=routing.settings.policy.max_attempts,
        vault=routing.vault,
    )
    log.info("rectification_opened", rectification_id=rect.id, case_no=case_no, notices=queued)
    return rect


async def _insert(
    conn: asyncpg.Connection,
    case: Mapping[str, Any],
    *,
    rating: int,
    comment: str | None,
    source: str,
    head: str | None,
    due: Deadlines,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The new row; None when one is already open for the case (the insert does nothing)."""
    row: Mapping[str, Any] | None = await conn.fetchrow(
        Q["insert_rectification"],
        case["case_no"],
        case["department_code"],
        case["department_name"] or case["directory_department_name"],
        rating,
        comment,
        source,
        head,
        now,
        due.verify.due_date if due.verify else None,
        due.verify.due_at if due.verify else None,
        due.verify.warn_at if due.verify else None,
        due.rectify.due_date if due.rectify else None,
        due.rectify.due_at if due.rectify else None,
        due.rectify.warn_at if due.rectify else None,
        due.provisional,
    )
    return row


async def _audit(
    conn: asyncpg.Connection,
    at: datetime,
    audit_as: AuditAs,
    action: str,
    rectification_id: int,
    detail: dict[str, Any],
) -> None:
    """The audit trail's row, the subject being the rectification's id."""
    role, actor = audit_as
    await record(
        conn,
        at=at,
        role=role,
        actor=actor,
        action=action,
        subject=str(rectification_id),
        detail=detail,
    )


async def get(conn: asyncpg.Connection, rectification_id: int, vault: Vault) -> Rectification:
    row = await conn.fetchrow(Q["get_rectification"], rectification_id)
    if row is None:
        raise RectificationNotFound(f"no rectification {rectification_id}")
    return Rectification.from_row(row, vault)


async def _locked(conn: asyncpg.Connection, rectification_id: int) -> Mapping[str, Any]:
    row = await conn.fetchrow(Q["lock_rectification"], rectification_id)
    if row is None:
        raise RectificationNotFound(f"no rectification {rectification_id}")
    return row  # type: ignore[no-any-return]


async def verify(
    conn: asyncpg.Connection,
    rectification_id: int,
    *,
    by: str,
    finding: str,
    now: datetime,
    vault: Vault,
    audit_as: AuditAs | None = None,
) -> Rectification:
    """回访核实 done: record who called the applicant back and what they found."""
    async with conn.transaction():
        row = await _locked(conn, rectification_id)
        if row["status"] != "open":
            raise RectificationConflict(
                f"rectification {rectification_id} is already {row['status']}; "
                "a rectification is verified once, before it is closed"
            )
        await conn.execute(Q["verify_rectification"], rectification_id, now, by, finding)
        await timers.cancel(
            conn,
            rectification_id,
            [timers.TimerKind.VERIFY_OVERDUE],
            reason="no longer true: the rectification was verified",
            now=now,
        )
        if audit_as is not None:
            await _audit(
                conn,
                now,
                audit_as,
                "rectification.verify",
                rectification_id,
                {"case_no": row["case_no"], "by": by, "finding": finding},
            )
        return await get(conn, rectification_id, vault)


async def close(
    conn: asyncpg.Connection,
    routing: Routing,
    rectification_id: int,
    *,
    by: str,
    outcome: str,
    reply: str,
    now: datetime,
    audit_as: AuditAs | None = None,
) -> Closed:
    """Rectified, explained or unfounded: store the answer and text it to the applicant."""
    if outcome not in OUTCOMES:
        message = f"must be one of: {', '.join(OUTCOMES)}"
        raise InputError(f"outcome {message}", errors=[{"field": "outcome", "message": message}])
    if not reply.strip():
        message = "the reply to the applicant is empty; say what was done"
        raise InputError(message, errors=[{"field": "reply", "message": message}])
    async with conn.transaction():
        row = await _locked(conn, rectification_id)
        if row["status"] == "closed":
            raise RectificationConflict(
                f"rectification {rectification_id} was closed at "
                f"{row['closed_at'].astimezone(routing.tz).isoformat()}; its reply has gone out"
            )
        rect = Rectification.from_row(row, routing.vault)
        context = notices.reply_context(rect, outcome, reply, routing, now)
        notices.check_reply_fits(routing, context)
        sealed_reply = routing.vault.seal(reply, field=RECTIFICATIONS_REPLY)
        await conn.execute(
            Q["close_rectification"], rectification_id, now, by, outcome, sealed_reply
        )
        await timers.cancel(
            conn,
            rectification_id,
            list(timers.TimerKind),
            reason="no longer true: the rectification was closed",
            now=now,
        )
        queued = await enqueue(
            conn,
            notices.reply_notices(rect, row["applicant"], context, routing, now),
            now=now,
            max_attempts=routing.settings.policy.max_attempts,
            vault=routing.vault,
        )
        if audit_as is not None:
            await _audit(
                conn,
                now,
                audit_as,
                "rectification.close",
                rectification_id,
                # The reply is kept sealed (rectifications, the message log), not copied here.
                {"case_no": rect.case_no, "by": by, "outcome": outcome, "reply_chars": len(reply)},
            )
        return Closed(
            rectification=await get(conn, rectification_id, routing.vault), notices=queued
        )
