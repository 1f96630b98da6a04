"""Retention: personal data is kept no longer than needed (《个人信息保护法》 Art. 19).

``privacy.retain_days`` (default 180) after a case is closed or withdrawn, the
daily job de-identifies it (:mod:`hub.privacy.deidentify`): the applicant's
name, number and e-mail become 张* / 138****5678 / z***@…, its messages'
recipients and bodies say only those masked forms, and every figure supervision
reports stays as it was. Open cases are never touched, nor a closed case whose
rectification (差评整改) is still open. Each case done is an audit row
(``case.deidentified``, actor ``retention``) with what was rewritten.

The job runs from the scheduler on the hub's clock, once per local day per
process; any number of processes may run it (``SKIP LOCKED``, and a case is
done once: ``cases.deidentified_at``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg
import structlog

from hub.privacy.deidentify import DEIDENTIFIED, deidentify_case
from hub.privacy.stored import StoredForm
from hub.privacy.vault import Vault
from hub.services import Services
from hub.store.queries import Q
from hub.supervision.audit import record

log = structlog.get_logger(__name__)

BATCH = 50


@dataclass(kw_only=True)
class RetentionResult:
    cases: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)


async def apply_retention(
    pool: asyncpg.Pool, vault: Vault, *, now: datetime, retain_days: int, batch: int = BATCH
) -> RetentionResult:
    """De-identify every case closed or withdrawn more than ``retain_days`` before ``now``."""
    cutoff = now - timedelta(days=retain_days)
    form = StoredForm(vault)
    result = RetentionResult()
    while True:
        async with pool.acquire() as conn, conn.transaction():
            due = await conn.fetch(Q["retention_due_cases"], cutoff, result.failed, batch)
            for row in due:
                case_no = row["case_no"]
                try:
                    async with conn.transaction():  # a savepoint: one bad case stays apart
                        counts = await deidentify_case(conn, form, case_no, now=now)
                        await record(
                            conn,
                            at=now,
                            role="system",
                            actor="retention",
                            action=DEIDENTIFIED,
                            subject=case_no,
                            detail={"reason": "retention", "retain_days": retain_days, **counts},
                        )
                # Whatever one case's data holds (a value no key opens, a damaged JSON),
                # the others are still due: set it aside for this run and say so.
                except Exception:
                    log.exception("retention_case_failed", case_no=case_no)
                    result.failed.append(case_no)
                else:
                    result.cases += 1
                    result.rows.update(counts)
        if not due:
            break
    if result.cases or result.failed:
        log.info(
            "retention_applied",
            cases=result.cases,
            failed=len(result.failed),
            cutoff=cutoff.isoformat(),
            rows=dict(result.rows),
        )
    return result


class RetentionJob:
    """The daily run: the first call on each local day does the work, later ones return."""

    def __init__(self) -> None:
        self._done: date | None = None

    async def run(self, services: Services, now: datetime) -> int:
        today = now.astimezone(services.settings.calendar.tz).date()
        if self._done == today:
            return 0
        result = await apply_retention(
            services.pool,
            services.vault,
            now=now,
            retain_days=services.settings.privacy.retain_days,
        )
        self._done = today
        return result.cases
