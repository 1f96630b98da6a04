"""The audit trail: who changed people and departments and who urged, append-only and queryable.

Rows can be added, never changed or removed (a database trigger refuses it).
Every notice carries ``content_hash`` (SHA-256 of subject and body, fixed when
it is written), so what a citizen was told can be proven later. ``GET /v1/audit``
reads the trail (hub/api/audit.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from hub.store.queries import Q


async def record(
    conn: asyncpg.Connection,
    *,
    at: datetime,
    role: str,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> None:
    await conn.execute(
        Q["insert_audit"],
        at,
        role,
        actor,
        action,
        subject,
        json.dumps(detail, ensure_ascii=False, default=str),
    )
