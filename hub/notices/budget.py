"""Keeping a reviewer's daily reminder-SMS budget as notices enter the outbox.

``policy.max_reminder_sms`` (default 12; 0: no budget) reminder SMS — due soon, overdue,
催办, the digest — per person and local day, the last two kept for 催办 (:mod:`core.budget`).
A reminder past it is queued on the person's next channel instead (WeCom, e-mail,
WeChat; always the WAP inbox), with a note saying why; nothing is dropped. Decision 0023.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import asyncpg

from core.budget import BUDGETED_KINDS, URGE_RESERVE, Claim, over_budget
from core.notices import ChannelKind
from hub.notices.outbox import Notice
from hub.notices.recipients import Routing
from hub.store.queries import Q

__all__ = ["OFF_SMS", "keep_sms_budget"]

OFF_SMS = "not by SMS:"  # how a moved reminder's note starts (the simulator counts them)


def _asks_for_sms(notice: Notice) -> bool:
    return (
        notice.kind in BUDGETED_KINDS
        and notice.person_id is not None
        and bool(notice.addresses)
        and notice.addresses[0].channel is ChannelKind.SMS
    )


async def keep_sms_budget(
    conn: asyncpg.Connection, routing: Routing, notices: Sequence[Notice]
) -> list[Notice]:
    """``notices`` with those past their person's reminder-SMS budget moved off SMS."""
    limit = routing.settings.policy.max_reminder_sms
    asking = [i for i, n in enumerate(notices) if _asks_for_sms(n)]
    if limit <= 0 or not asking:
        return list(notices)
    tz = routing.tz
    claims = [
        Claim(
            person_id=str(notices[i].person_id),
            day=notices[i].not_before.astimezone(tz).date(),
            kind=notices[i].kind,
        )
        for i in asking
    ]
    people = sorted({c.person_id for c in claims})
    await conn.execute(Q["lock_sms_budgets"], people)
    first = datetime.combine(min(c.day for c in claims), time(0), tz)
    last = datetime.combine(max(c.day for c in claims) + timedelta(days=1), time(0), tz)
    rows = await conn.fetch(
        Q["reminder_sms_per_day"], people, sorted(BUDGETED_KINDS), first, last, tz.key
    )
    sent: dict[tuple[str, date], int] = {(r["person_id"], r["day"]): r["sms"] for r in rows}
    moved = {asking[p] for p in over_budget(claims, sent, limit)}
    out = list(notices)
    for i in moved:
        notice = notices[i]
        why = (
            f"{OFF_SMS} {notice.person_id}'s reminder SMS for the day are used up "
            f"(policy.max_reminder_sms = {limit}, the last {URGE_RESERVE} kept for 催办)"
        )
        out[i] = replace(
            notice,
            addresses=tuple(a for a in notice.addresses if a.channel is not ChannelKind.SMS),
            note=f"{why}; {notice.note}" if notice.note else why,
        )
    return out
