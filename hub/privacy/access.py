"""The access log: every read of a case's personal data, in the audit trail.

《个人信息保护法》 Art. 51 asks for access controls and a record of who handled
personal information. Reads are rows of the one audit trail
(:mod:`hub.supervision.audit`, append-only) with the action ``case.read``: who
(the API key's name or fingerprint, or the WAP link or session), when, which
case, through which door, and the case's department, so a supervisor can read
the log of a department's cases (``GET /v1/audit?action=case.read&department=``).

Which departments' log a reader may see is its :class:`Scope`: an admin key every
department; a supervisor key those it names in ``departments`` (``"*"``: the whole
centre, 电子监察) and those where its ``person`` is head, deputy or a supervisor
(``PUT /v1/departments/{code}``, read at each request, so a change takes effect at
once). A supervisor key with neither sees no department's log: being centre-wide is
said in the configuration, never assumed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from hub.settings import EVERY_DEPARTMENT, ApiKey
from hub.store.queries import Q
from hub.supervision.audit import record

CASE_READ = "case.read"
MESSAGES_READ = "messages.read"
SUPERVISE_READ = "supervise.read"
INBOUND_SMS_READ = "inbound_sms.read"
RECTIFICATIONS_READ = "rectifications.read"
#: What the access log shows: reads of one case, and of lists that show personal data of
#: many (the message log, texts received, rectifications' comments, a supervision page).
READS = (CASE_READ, MESSAGES_READ, INBOUND_SMS_READ, RECTIFICATIONS_READ, SUPERVISE_READ)

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


async def record_messages_read(
    conn: asyncpg.Connection,
    *,
    at: datetime,
    role: str,
    actor: str,
    subject: str,
    asked: dict[str, str],
    shown: Sequence[Mapping[str, Any]],
) -> None:
    """One ``messages.read`` row for a page of the message log ``shown`` to ``actor``.

    One row per request, however many messages: how many, the filters ``asked``
    (masked by the caller), and the cases they belong to (:func:`record_cases_shown`).
    Nothing is recorded for an empty page: it showed no one's data.
    """
    if not shown:
        return
    await record_cases_shown(
        conn,
        at=at,
        role=role,
        actor=actor,
        action=MESSAGES_READ,
        subject=subject,
        detail={"via": "api", "asked": asked, "messages": len(shown)},
        case_nos=[str(r["case_no"]) for r in shown if r["case_no"]],
    )


async def record_cases_shown(
    conn: asyncpg.Connection,
    *,
    at: datetime,
    role: str,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any],
    case_nos: Iterable[str],
) -> None:
    """One audit row for one request that showed personal data of many cases.

    The cases go in by department (``{"SCJG": ["A-1", ...]}``, ``departments`` the codes),
    so the read is in each of those departments' access log and a supervisor of one is
    shown only its own cases (:func:`visible_detail`): one row per request, not per case.
    """
    await conn.execute(
        Q["insert_audit_cases_shown"],
        at,
        role,
        actor,
        action,
        subject,
        json.dumps(detail, ensure_ascii=False, default=str),
        sorted(set(case_nos)),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    """The departments whose cases' access log a reader may see; ``everywhere``: all."""

    everywhere: bool = False
    departments: frozenset[str] = frozenset()

    def allows(self, department: str) -> bool:
        return self.everywhere or department in self.departments

    def only(self) -> list[str] | None:
        """The departments to filter the log by: None when the reader sees every one."""
        return None if self.everywhere else sorted(self.departments)


EVERYWHERE = Scope(everywhere=True)


async def scope_of(conn: asyncpg.Connection, key: ApiKey) -> Scope:
    """What ``key`` may see of the access log (see the module's docstring)."""
    if key.role == "admin" or EVERY_DEPARTMENT in key.departments:
        return EVERYWHERE
    if key.role != "supervisor":
        return Scope()
    return Scope(departments=frozenset(key.departments) | await departments_of(conn, key.person))


async def departments_of(conn: asyncpg.Connection, person: str) -> frozenset[str]:
    """The departments where ``person`` is head, deputy or one of the supervisors."""
    if not person:
        return frozenset()
    return frozenset(r["code"] for r in await conn.fetch(Q["departments_of_person"], person))


def visible_detail(detail: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """An audit row's detail as ``scope`` may see it: a read of the message log keeps only
    the cases (and departments) of the scope's departments."""
    out = dict(detail)
    if scope.everywhere or not isinstance(detail.get("cases"), Mapping):
        return out
    out["cases"] = {d: c for d, c in detail["cases"].items() if scope.allows(d)}
    out["departments"] = sorted(out["cases"])
    return out
