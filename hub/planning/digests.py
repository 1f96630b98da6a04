"""The 08:30 daily digest: one per person per working day, listing what is due soon or overdue.

Nodes are grouped by who reads them: a node of an away reviewer is routed to
the deputy (as its reminders are), so the deputy gets one digest covering
their own nodes and the routed ones — never two (contract: "one per person per
day"). The digest names the due-soon and overdue cases with their dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, tzinfo
from typing import Any

import asyncpg

from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from hub.notices.notify import notify
from hub.notices.outbox import Notice
from hub.notices.recipients import People, Recipient, Routing, unique
from hub.notices.words import digest_line, digest_sms_list, due_words
from hub.store.queries import Q

DIGEST_AT = time(8, 30)
DIGEST_UNTIL = time(12, 0)
LISTED = 20  # cases listed per kind in e-mail, WeCom and the inbox; the rest are counted


def digest_due(routing: Routing, now: datetime) -> bool:
    """A working-day morning from 08:30: a hub started late catches up; later is noise."""
    local = now.astimezone(routing.tz)
    try:
        return DIGEST_AT <= local.time() < DIGEST_UNTIL and routing.calendar.is_working_day(
            local.date()
        )
    except CalendarYearUnknown:
        return False


@dataclass
class _Desk:
    """What one reader's digest covers: their own open nodes and those routed to them."""

    reader: Recipient
    open_count: int = 0
    due_soon: list[Mapping[str, Any]] = field(default_factory=list)
    overdue: list[Mapping[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def desks(nodes: Sequence[Mapping[str, Any]], people: People, now: datetime) -> list[_Desk]:
    """Open nodes grouped by reader (the assignee, or the deputy while away), first seen first."""
    found: dict[str, _Desk] = {}
    for node in nodes:
        reader = people.recipient(node["assignee_id"], now)
        desk = found.setdefault(reader.person_id, _Desk(reader=reader))
        desk.open_count += 1
        if reader.note and reader.note not in desk.notes:
            desk.notes.append(reader.note)
        if node["due_at"] is not None and node["due_at"] < now:
            desk.overdue.append(node)
        elif node["warn_at"] is not None and node["warn_at"] <= now:
            desk.due_soon.append(node)
    return list(found.values())


def _when(node: Mapping[str, Any], tz: tzinfo) -> str:
    """When a listed node is due, as its reminders say it: an hours node to the minute."""
    return due_words(node["limit_unit"], node["due_date"], node["due_at"], tz)


def _lines(nodes: Sequence[Mapping[str, Any]], tz: tzinfo) -> str:
    lines = [
        digest_line(n["case_no"], n["matter_name"] or "", n["name"], _when(n, tz))
        for n in nodes[:LISTED]
    ]
    if len(nodes) > LISTED:
        lines.append(f"……另有{len(nodes) - LISTED}件")
    return "\n".join(lines)


def digest_context(desk: _Desk, tz: tzinfo) -> dict[str, Any]:
    """Counts, the SMS phrases and the full lists (one case a line) of one reader's digest."""
    first = [(n["case_no"], _when(n, tz)) for n in desk.overdue]
    soon = [(n["case_no"], _when(n, tz)) for n in desk.due_soon]
    return {
        "name": desk.reader.name,
        "open_count": str(desk.open_count),
        "due_soon_count": str(len(desk.due_soon)),
        "overdue_count": str(len(desk.overdue)),
        "overdue_list": digest_sms_list("超期", first),
        "due_soon_list": digest_sms_list("临期", soon),
        "overdue_cases": _lines(desk.overdue, tz),
        "due_soon_cases": _lines(desk.due_soon, tz),
    }


async def daily_digest(pool: asyncpg.Pool, routing: Routing, now: datetime) -> int:
    """Queue today's digest to each reader of open nodes (once a day); return how many."""
    if not digest_due(routing, now):
        return 0
    today = now.astimezone(routing.tz).date().isoformat()
    async with pool.acquire() as conn, conn.transaction():
        nodes = await conn.fetch(Q["open_nodes_for_digest"])

        def build(people: People) -> list[Notice]:
            notices = []
            for desk in desks(nodes, people, now):
                notice = routing.reviewer_notice(
                    desk.reader,
                    NoticeKind.DAILY_DIGEST,
                    f"daily_digest:{today}",
                    digest_context(desk, routing.tz),
                    now=now,
                )
                # The note tells whose nodes were routed here (a deputy's digest).
                notices.append(replace(notice, note="; ".join(desk.notes) or None))
            return notices

        return await notify(
            conn, routing, unique([n["assignee_id"] for n in nodes]), build, now=now
        )
