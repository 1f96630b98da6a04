"""When held notices will go: reviewers' due-soon rounds, and the line ``cuiban serve`` prints.

Reviewers are reminded on working days outside quiet hours; applicants' notices
wait out quiet hours only (:class:`hub.notices.recipients.Routing`). Started on a
Saturday night, a hub sends nothing for a while — :func:`hold_note` says until when,
and why. A reviewer's due-soon reminders wait for the next reminder round
(``policy.reminder_rounds``) once they have had one that day, so that the rest of a day's
go merged, a round at a time (:func:`hold_due_soon`, decision 0023); one that cannot wait
takes the others already yellow along (:func:`due_soon_along`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

import asyncpg

from core.errors import CalendarYearUnknown
from core.notices import NoticeKind
from core.rounds import due_soon_at
from hub.notices.recipients import Routing
from hub.store.queries import Q

__all__ = [
    "due_soon_along",
    "gather_due_soon",
    "hold_due_soon",
    "hold_note",
]

_AFTER = timedelta(seconds=1)  # "after this round": the next one is looked for from here

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _at(instant: datetime, routing: Routing) -> str:
    local = instant.astimezone(routing.tz)
    return f"{_DAYS[local.weekday()]} {local:%Y-%m-%d %H:%M}"


def hold_note(routing: Routing, now: datetime) -> str | None:
    """One sentence on when notices held at ``now`` will go, or None when they go at once."""
    policy = routing.settings.policy
    quiet = routing.default_quiet
    applicants = routing.applicant_time(now)
    reviewers = routing.reviewer_time(now, quiet)
    if applicants <= now and reviewers <= now:
        return None
    reasons = []
    if quiet is not None and quiet.release(now, routing.tz) > now:
        reasons.append(f"quiet hours {policy.quiet_hours}")
    if not routing.calendar.is_working_day(now.astimezone(routing.tz).date()):
        reasons.append(
            f"not a working day; reviewers from office start {policy.office_start:%H:%M}"
        )
    parts = []
    if applicants > now:
        parts.append(f"applicants' notices from {_at(applicants, routing)}")
    else:
        parts.append("applicants' notices now")
    parts.append(f"reviewers' reminders from {_at(reviewers, routing)}")
    return f"It is {_at(now, routing)} ({'; '.join(reasons)}): " + ", ".join(parts) + "."


async def gather_due_soon(
    conn: asyncpg.Connection, routing: Routing, claimed: Sequence[asyncpg.Record], now: datetime
) -> list[asyncpg.Record]:
    """The timers a tick batch fires: ``claimed``, less the due-soon ones held for later
    (:func:`hold_due_soon`), plus those that go along (:func:`due_soon_along`)."""
    deferred = await hold_due_soon(conn, routing, claimed, now)
    kept = [t for t in claimed if t["id"] not in deferred]
    return [*kept, *await due_soon_along(conn, kept, now)]


def _at_round(instant: datetime, routing: Routing) -> bool:
    return instant.astimezone(routing.tz).time() in routing.settings.policy.reminder_rounds


async def hold_due_soon(
    conn: asyncpg.Connection, routing: Routing, claimed: Sequence[asyncpg.Record], now: datetime
) -> set[int]:
    """Hold the claimed due-soon timers that should not make a message of their own now.

    The first reminder of a reviewer's day goes when its node turns yellow, at the
    instant the contract gives; it is the second, third... of a day that would make the
    phone buzz all afternoon, so those wait for the next round and go merged — if the
    round still leaves the reviewer time to act (else now, alone). A reminder that
    quiet hours or a day off hold anyway waits as a timer until they end, so that those
    of one night or weekend fire in one batch and go as one message at 07:30 or 09:00.
    A node that turned yellow at a round's very instant, after that round's message to
    its reviewer was made, would be a second SMS at the same minute: it waits for the
    next round if that still leaves the reviewer time to act (else it goes now, alone).
    Returns the ids held (still pending, at their new instant)."""
    rounds = routing.settings.policy.reminder_rounds
    soon = [t for t in claimed if t["kind"] == NoticeKind.NODE_DUE_SOON]
    if not rounds or not soon:
        return set()
    try:
        ready = routing.reviewer_time(now, routing.default_quiet)
    except CalendarYearUnknown:
        return set()  # fire now, as it would have
    local_day = ready.astimezone(routing.tz).date()
    day_start = datetime.combine(local_day, time(0), routing.tz)
    rows = await conn.fetch(
        Q["due_soon_reminded_today"],
        [t["id"] for t in soon],
        [t["case_no"] for t in soon],
        [t["node_id"] for t in soon],
        [t["fire_at"] for t in soon],
        day_start,
        day_start + timedelta(days=1),
    )
    held: list[tuple[int, datetime]] = []
    for row in rows:
        try:
            if row["told_at_this_instant"] and _at_round(row["fire_at"], routing):
                after = routing.reviewer_time(now + _AFTER, routing.default_quiet)
                later = due_soon_at(after, row["due_at"], rounds, routing.calendar, tz=routing.tz)
                if later > now + _AFTER / 2 and _at_round(later, routing):
                    held.append((row["id"], later))
                continue
            later = ready
            if row["reminded"]:
                later = due_soon_at(ready, row["due_at"], rounds, routing.calendar, tz=routing.tz)
        except CalendarYearUnknown:
            continue  # fire now, as it would have
        # Never held to or past the deadline: the tick then drops it, as the contract says.
        if now < later < row["due_at"]:
            held.append((row["id"], later))
    if held:
        await conn.execute(Q["retime_timers"], [i for i, _ in held], [at for _, at in held])
    return {i for i, _ in held}


async def due_soon_along(
    conn: asyncpg.Connection, claimed: Sequence[asyncpg.Record], now: datetime
) -> list[asyncpg.Record]:
    """Claim the due-soon timers that go along with ``claimed``'s: when a reviewer is told
    of one node now (one that could not wait for its round), their other nodes already
    yellow and waiting for a later round are named in the same message instead of a second
    one later. Locked like any claim; the tick fires them with the batch."""
    firing = [
        (t["case_no"], t["node_id"]) for t in claimed if t["kind"] == NoticeKind.NODE_DUE_SOON
    ]
    if not firing:
        return []
    mine = {t["id"] for t in claimed}
    rows = await conn.fetch(
        Q["claim_due_soon_along"], [c for c, _ in firing], [n for _, n in firing], now
    )
    return [r for r in rows if r["id"] not in mine]
