"""WeCom per-member limits: never more than 30 messages a minute or 1000 an hour to one member.

WeCom accepts an app's message beyond those limits and silently drops it. So
before a WeCom send the dispatcher asks :func:`check` (one transaction, under an
advisory lock on the member, so workers do not race):

* under both limits: the row takes a *slot* (``limit_slot_at = now``) and goes;
  if other rows were merged into it, they are leased with it and the dispatcher
  sends all of them as one digest card (:func:`digest`), one slot in all;
* at a limit: the row goes back to the queue unsent, without spending an
  attempt, until the oldest slot in the full window ages out. It becomes the
  member's waiting *digest*, and the member's other WeCom rows due by then are
  merged into it (``batched_into``): they wait a little longer, and the digest's
  send takes them along. A row that finds a digest already waiting joins it.

Each merged row keeps its own outcome (sent, failed with backoff, dead and its
fallback) — the dispatcher settles every one of them with the digest's result.
Nothing is dropped: a merged row whose digest went without it (cancelled, or
claimed by another worker meanwhile) comes due on its own ``MERGE_GRACE`` later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from core.notices import OutboundMessage
from hub.store.queries import Q

__all__ = ["PER_HOUR", "PER_MINUTE", "Verdict", "check", "digest"]

PER_MINUTE = 30  # WeCom 发送应用消息: 每应用对同一成员 30 次/分、1000 次/小时
PER_HOUR = 1000
MERGE_GRACE = timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """``held_until`` set: the row was given back to the queue; else send it (and ``merged``)."""

    held_until: datetime | None = None
    merged: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


async def check(
    pool: asyncpg.Pool,
    row: Mapping[str, Any],
    *,
    now: datetime,
    owner: str,
    lease: timedelta,
    indexes: Sequence[bytes],
) -> Verdict:
    """Take a slot for ``row`` (a claimed WeCom message, opened), or hold it as the digest.

    The member's rows are found by ``indexes``, the blind indexes of the userid under every
    configured key, the current one first (:func:`hub.privacy.fields.address_lookup`;
    messages.recipient is sealed): while ``cuiban keys rotate`` runs, rows it has not
    re-indexed yet still count. Rows stored before sealing are found by their clear userid.
    """
    if not indexes:
        raise ValueError("a WeCom member is found by at least one blind index")
    recipient = list(indexes)
    userid = str(row["recipient"])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(Q["wecom_member_lock"], recipient[0])
        usage = await conn.fetchrow(Q["wecom_member_usage"], recipient, now, row["id"], userid)
        free_at: datetime | None = None
        if usage["hour"] >= PER_HOUR:
            free_at = usage["hour_oldest"] + timedelta(hours=1)
        elif usage["minute"] >= PER_MINUTE:
            free_at = usage["minute_oldest"] + timedelta(minutes=1)
        if free_at is None:
            await conn.execute(Q["wecom_take_slot"], row["id"], now)
            merged = await conn.fetch(Q["wecom_claim_merged"], row["id"], owner, now + lease, now)
            return Verdict(merged=merged)
        waiting = await conn.fetchrow(Q["wecom_waiting_digest"], recipient, row["id"], userid)
        if waiting is not None:  # join the digest already waiting for this member
            digest_id, until = waiting["id"], waiting["not_before"]
        else:  # this row becomes the digest
            digest_id, until = row["id"], free_at
            await conn.execute(Q["wecom_hold"], row["id"], owner, free_at, now)
        await conn.execute(
            Q["wecom_merge_into"],
            row["id"],
            digest_id,
            until + MERGE_GRACE,
            recipient,
            now,
            owner,
            userid,
        )
        return Verdict(held_until=until)


def digest(leader: OutboundMessage, rows: Sequence[Mapping[str, Any]]) -> OutboundMessage:
    """One text card for the digest and the rows merged into it: a numbered list of titles."""
    titles = [leader.subject or leader.body.partition("\n")[0]]
    titles += [str(r["subject"] or r["body"].partition("\n")[0]) for r in rows]
    link = leader.link or next((str(r["link"]) for r in rows if r["link"]), None)
    lines = [f"{i}. {title}" for i, title in enumerate(titles, 1)]
    return OutboundMessage(
        id=leader.id,
        kind=leader.kind,
        channel=leader.channel,
        recipient=leader.recipient,
        body="\n".join(lines),
        person_id=leader.person_id,
        case_no=leader.case_no,
        subject=f"您有{len(titles)}条新通知",
        link=link,
        params=leader.params,
        context=leader.context,
    )
