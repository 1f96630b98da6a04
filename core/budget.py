"""A reviewer's daily SMS budget for reminders: past it, a reminder goes by their other channels.

Rounds and merging (:mod:`core.rounds`, decision 0023) keep a reviewer's reminders few;
on a day when even merged they are more than a phone should take — a reviewer carrying
the work of three — ``policy.max_reminder_sms`` caps the reminder SMS (due soon, overdue,
催办, the morning digest) one person gets on one local day. The reminders past it are not
dropped: they go by the person's next channel (WeCom, e-mail, WeChat) and always reach
the WAP inbox the SMS link opens, and the next morning's digest lists every node still
due soon or overdue.

When several reminders ask for the last SMS of a day at once, the most pressing get it:
a 催办 (a person's act), then overdue, then due soon, then the digest. And the hub's own
reminders stop :data:`URGE_RESERVE` short of the limit, so that a 催办 coming late in a
busy day still reaches the phone.

Pure: the counts so far come in, the decision goes out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from core.notices import NoticeKind

__all__ = ["BUDGETED_KINDS", "PRESSING_FIRST", "URGE_RESERVE", "Claim", "over_budget"]

# The order in which reminders get a day's last SMS; also the kinds the budget counts.
PRESSING_FIRST: tuple[NoticeKind, ...] = (
    NoticeKind.URGE,
    NoticeKind.NODE_OVERDUE,
    NoticeKind.NODE_DUE_SOON,
    NoticeKind.DAILY_DIGEST,
)
BUDGETED_KINDS = frozenset(PRESSING_FIRST)
URGE_RESERVE = 2  # the day's last SMS kept for 催办: the hub's own reminders stop short of them


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One reminder that would go to ``person_id`` by SMS on local ``day``."""

    person_id: str
    day: date
    kind: NoticeKind


def over_budget(
    claims: Sequence[Claim], sent: Mapping[tuple[str, date], int], limit: int
) -> set[int]:
    """The positions in ``claims`` that must not go by SMS: those past ``limit`` reminder SMS
    for their person and day, counting ``sent`` (already queued or sent) — past
    ``limit - URGE_RESERVE`` for any but a 催办 — the most pressing kept first and, within
    a kind, the earlier ones. ``limit`` 0 means no budget."""
    if limit <= 0:
        return set()
    rank = {kind: position for position, kind in enumerate(PRESSING_FIRST)}
    by_desk: dict[tuple[str, date], list[int]] = defaultdict(list)
    for position, claim in enumerate(claims):
        by_desk[(claim.person_id, claim.day)].append(position)
    moved: set[int] = set()
    for desk, positions in by_desk.items():
        used = sent.get(desk, 0)
        for position in sorted(positions, key=lambda p: (rank[claims[p].kind], p)):
            own = claims[position].kind is not NoticeKind.URGE
            if used < (max(1, limit - URGE_RESERVE) if own else limit):
                used += 1
            else:
                moved.add(position)
    return moved
