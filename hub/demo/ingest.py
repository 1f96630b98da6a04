"""Demo events go in through the approval system's own ingest path."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from core.events import EVENT_ADAPTER
from hub.services import Services
from hub.store import ingest as store


async def ingest_raw(
    conn: asyncpg.Connection,
    services: Services,
    raws: Sequence[dict[str, Any]],
    *,
    now: datetime,
) -> store.IngestResult:
    """Validate and store ``raws`` as ``POST /v1/events`` would, at ``now``."""
    items = [store.IncomingEvent(raw=r, event=EVENT_ADAPTER.validate_python(r)) for r in raws]
    return await store.ingest(
        conn,
        items,
        now=now,
        calendar=services.calendar,
        rules_for=services.rules,
        vault=services.vault,
        after=services.planner.after_ingest,
    )
