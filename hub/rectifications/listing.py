"""Rectifications as the pages show them: the live 差评整改 list, the month's table, an inbox.

Plain rows for templates (local dates, level words, outcome words); the pages
(supervision, monthly report, WAP inbox) render them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from core.levels import LEVEL_WORDS, Level
from hub.privacy.vault import Vault
from hub.rectifications.model import OUTCOME_WORDS, POOR_RATING_WORDS, Rectification
from hub.rectifications.notices import day
from hub.store.queries import Q

__all__ = ["STATUS_WORDS", "live", "of_head", "opened_between", "row"]

STATUS_WORDS = {"open": "待核实", "verified": "已核实待答复", "closed": "已办结"}
_URGENCY = {Level.RED: 0, Level.YELLOW: 1, Level.GREEN: 2}


def _when(instant: datetime | None, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M") if instant else ""


def _on_time(value: bool | None) -> str:
    return "" if value is None else ("按时" if value else "超期")


def row(rect: Rectification, *, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    level = rect.level(now)
    return {
        "id": rect.id,
        "case_no": rect.case_no,
        "department": rect.department_name or rect.department_code or "",
        "matter": rect.matter_name or "",
        "rating": f"{rect.rating}分 {POOR_RATING_WORDS.get(rect.rating, '')}".strip(),
        "comment": rect.comment or "",
        "status": STATUS_WORDS[rect.status],
        "level": str(level) if level else "",
        "level_text": LEVEL_WORDS[level] if level else "期限待定",
        "opened": _when(rect.opened_at, tz),
        "verify_due": day(rect.verify_due_date),
        "rectify_due": day(rect.rectify_due_date, provisional=rect.provisional),
        "verified": _when(rect.verified_at, tz),
        "verified_on_time": _on_time(rect.verified_on_time),
        "closed": _when(rect.closed_at, tz),
        "closed_on_time": _on_time(rect.closed_on_time),
        "outcome": OUTCOME_WORDS.get(rect.outcome or "", ""),
    }


def _rows(
    records: Sequence[asyncpg.Record], now: datetime, tz: ZoneInfo, vault: Vault | None
) -> list[dict[str, Any]]:
    return [row(_opened(r, vault), now=now, tz=tz) for r in records]


def _opened(record: asyncpg.Record, vault: Vault | None) -> Rectification:
    """The rectification with its comment opened; without the key (``cuiban report`` on a
    configuration that has none) the comment and the reply are left out, never shown sealed."""
    if vault is not None:
        return Rectification.from_row(record, vault)
    return replace(Rectification.from_row(record), comment=None, reply=None)


async def live(
    conn: asyncpg.Connection, *, now: datetime, tz: ZoneInfo, vault: Vault
) -> dict[str, list[dict[str, Any]]]:
    """Open rectifications by level (red, yellow, green), soonest due first."""
    found: dict[str, list[dict[str, Any]]] = {"red": [], "yellow": [], "green": []}
    for item in _rows(await conn.fetch(Q["open_rectifications"]), now, tz, vault):
        found.setdefault(item["level"] or "green", []).append(item)
    return found


async def opened_between(
    conn: asyncpg.Connection,
    lo: datetime,
    hi: datetime,
    *,
    now: datetime,
    tz: ZoneInfo,
    vault: Vault | None,
) -> list[dict[str, Any]]:
    """Every rectification opened in ``[lo, hi)``, oldest first (the monthly report)."""
    return _rows(await conn.fetch(Q["rectifications_opened_between"], lo, hi), now, tz, vault)


async def of_head(
    conn: asyncpg.Connection, person_id: str, *, now: datetime, tz: ZoneInfo, vault: Vault
) -> list[dict[str, Any]]:
    """A head's (or deputy's) open rectifications, most urgent first."""
    rows = await conn.fetch(Q["open_rectifications_of_head"], person_id)
    items = _rows(rows, now, tz, vault)
    return sorted(items, key=lambda i: _URGENCY.get(Level(i["level"]), 3) if i["level"] else 3)
