"""The access log: every read of a case's personal data, in the audit trail.

《个人信息保护法》 Art. 51 asks for access controls and a record of who handled
personal information. Reads are rows of the one audit trail
(:mod:`hub.supervision.audit`, append-only) with the action ``case.read``: who
(the API key's name or fingerprint, or the WAP link or session), when, which
case, through which door, and the case's department, so a supervisor can read
the log of a department's cases (``GET /v1/audit?action=case.read&department=``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

import asyncpg

from hub.supervision.audit import record

CASE_READ = "case.read"

Via = Literal["api", "wap", "supervise"]


def fingerprint(credential: str) -> str:
    """A short, one-way name for a link or session: tells readers apart, opens nothing."""
    return hashlib.sha256(credential.encode()).hexdigest()[:12]


async def record_case_read(
    conn: asyncpg.Connection,
    *,
    at: datetime,
    role: str,
    actor: str,
    case_no: str,
    department: str | None,
    via: Via,
) -> None:
    """One ``case.read`` row: ``actor`` in ``role`` read ``case_no`` through ``via``."""
    await record(
        conn,
        at=at,
        role=role,
        actor=actor,
        action=CASE_READ,
        subject=case_no,
        detail={"via": via, "department": department},
    )
