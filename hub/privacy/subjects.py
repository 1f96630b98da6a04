"""Everything held about one mobile number: exported (Art. 45) and erased (Art. 47).

《个人信息保护法》 gives a person the right to a copy of their personal information
(Art. 45) and to its deletion once it is no longer needed (Art. 47). The number
is the person's handle here: rows are found by its blind index (and, for rows
stored before their column was sealed, by the clear number).

Erasure is refused while the number has a case still open, or a rectification
still open: the data is needed to handle them (Art. 47 (1) — the purpose is not yet
achieved). Otherwise each of its cases is de-identified as retention would
(:mod:`hub.privacy.deidentify`), messages and texts outside its cases are masked,
sign-in codes and sessions and list subscriptions are deleted. An official's entry in
the directory (``people``) is reported and kept: it routes notices, and is changed with
``PUT /v1/people``. The opt-out (``TD``)
is kept: it is what stops announcements to the number, and erasing it would
start them again. Both are audit rows (``subject.exported``, ``subject.erased``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from core.errors import Conflict, InputError
from core.events import is_mobile, mobile_digits
from hub.notices.sealing import MessageParts, parts, seal_parts
from hub.notices.words import mask_address, mask_mobile
from hub.privacy.deidentify import DEIDENTIFIED, deidentify_case, replacements, scrub
from hub.privacy.fields import mobile_lookup
from hub.privacy.stored import StoredForm
from hub.privacy.vault import SealedValueError, Vault
from hub.store.queries import Q
from hub.supervision.audit import record

EXPORTED = "subject.exported"
ERASED = "subject.erased"
FINISHED = ("closed", "withdrawn")  # a case in any other status is still being handled


class OpenCases(Conflict):
    """The number has cases still being handled; their personal data is still needed."""


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who asked, for the audit trail."""

    role: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Subject:
    """A mobile number and how its rows are found."""

    digits: str
    indexes: list[bytes]

    @property
    def masked(self) -> str:
        return mask_mobile(self.digits)


def subject(vault: Vault, mobile: str) -> Subject:
    """The number as given (``+86``, spaces, dashes allowed); InputError if it is not one."""
    if not is_mobile(mobile):
        raise InputError(
            "mobile: not a mainland mobile number (11 digits starting with 1)",
            errors=[{"field": "mobile", "message": "a mainland mobile number"}],
        )
    return Subject(digits=mobile_digits(mobile), indexes=mobile_lookup(vault, mobile))


def _applicant(form: StoredForm, stored: Any) -> dict[str, Any]:
    value = form.read_json("cases", "applicant", stored)
    if isinstance(value, str):
        value = orjson.loads(value)
    return dict(value) if isinstance(value, Mapping) else {}


def _emails(applicants: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({a["email"].strip().lower() for a in applicants if a.get("email")})


async def export_subject(
    conn: asyncpg.Connection, vault: Vault, mobile: str, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Everything held about ``mobile``, opened, as one JSON object; audited."""
    who = subject(vault, mobile)
    form = StoredForm(vault)
    cases = await conn.fetch(Q["subject_cases"], who.indexes, who.digits)
    applicants = [_applicant(form, c["applicant"]) for c in cases]
    emails = _emails(applicants)
    exported_cases = []
    for case, applicant in zip(cases, applicants, strict=True):
        exported_cases.append(await _case(conn, form, case, applicant))
    messages = await _messages(conn, vault, form, who, emails)
    texts = await _texts(conn, form, who)
    opt_out = await conn.fetchval(Q["subject_opt_out"], who.indexes, who.digits)
    lists = [
        r["list_name"]
        for r in await conn.fetch(
            Q["subject_lists"], _addresses(vault, who, emails), who.digits, emails
        )
    ]
    people = [dict(r) for r in await conn.fetch(Q["subject_people"], who.indexes, who.digits)]
    found = {
        "mobile": who.digits,
        "exported_at": now,
        "cases": exported_cases,
        "messages": messages,
        "inbound_sms": texts,
        "opted_out_at": opt_out,
        "lists": lists,
        "people": people,
    }
    await record(
        conn,
        at=now,
        role=actor.role,
        actor=actor.name,
        action=EXPORTED,
        subject=who.masked,
        detail={
            "cases": len(exported_cases),
            "messages": len(messages),
            "inbound_sms": len(texts),
        },
    )
    return found


async def _messages(
    conn: asyncpg.Connection, vault: Vault, form: StoredForm, who: Subject, emails: list[str]
) -> list[dict[str, Any]]:
    """The messages sent to the number or to an e-mail address of its cases, opened."""
    found = []
    for m in await conn.fetch(
        Q["subject_messages"], _addresses(vault, who, emails), who.digits, emails
    ):
        clear = _parts(vault, m)
        personal = {
            name: values
            for name, values in (
                ("context", clear.personal_context),
                ("params", clear.personal_params),
            )
            if values
        }
        found.append(
            {
                **{k: v for k, v in dict(m).items() if k != "sealed"},
                "recipient": clear.recipient,
                "subject": _opened(form, "messages", "subject", m["subject"]),
                "body": clear.body,
                "personal": personal or None,
            }
        )
    return found


async def _texts(conn: asyncpg.Connection, form: StoredForm, who: Subject) -> list[dict[str, Any]]:
    """The SMS the number sent the hub, opened."""
    return [
        {
            **dict(r),
            "mobile": _opened(form, "inbound_sms", "mobile", r["mobile"]),
            "text": _opened(form, "inbound_sms", "text", r["text"]),
        }
        for r in await conn.fetch(Q["subject_inbound_sms"], who.indexes, who.digits)
    ]


def _addresses(vault: Vault, who: Subject, emails: list[str]) -> list[bytes]:
    """The recipient indexes a message to the number or the e-mails may carry, every key."""
    return who.indexes + [index for email in emails for index in vault.blind_indexes(email)]


def _parts(vault: Vault, message: Mapping[str, Any]) -> MessageParts:
    """A message's personal parts opened; none when no configured key opens them."""
    try:
        return parts(vault, message)
    except SealedValueError:
        return MessageParts(recipient=None, body=None)  # said as missing, not as an error


def _opened(form: StoredForm, table: str, column: str, stored: str | None) -> str | None:
    try:
        return form.read_text(table, column, stored)
    except SealedValueError:
        return None  # a value no configured key opens: said as missing, not as an error


async def _case(
    conn: asyncpg.Connection, form: StoredForm, case: asyncpg.Record, applicant: dict[str, Any]
) -> dict[str, Any]:
    events = [
        {
            "type": e["type"],
            "occurred_at": e["occurred_at"],
            "payload": form.read_keys("events", "payload", e["payload"]),
        }
        for e in await conn.fetch(Q["subject_case_events"], case["case_no"])
    ]
    extras = await conn.fetchrow(Q["subject_case_extras"], case["case_no"])
    assert extras is not None
    return {
        "case_no": case["case_no"],
        "status": case["status"],
        "matter": case["matter_name"] or case["matter_code"],
        "department": case["department_name"] or case["department_code"],
        "applicant": applicant,
        "accepted_at": case["accepted_at"],
        "closed_at": case["closed_at"],
        "withdrawn_at": case["withdrawn_at"],
        "deidentified_at": case["deidentified_at"],
        "events": events,
        "evaluation": extras["evaluation"]
        and {
            **extras["evaluation"],
            "comment": _opened(form, "evaluations", "comment", extras["evaluation"].get("comment")),
        },
        "complaints": [
            {**c, "content": _opened(form, "wap_complaints", "content", c.get("content"))}
            for c in extras["complaints"] or []
        ],
        "rectifications": [
            {
                **r,
                "comment": form.read_text("rectifications", "comment", r.get("comment")),
                "reply": form.read_text("rectifications", "reply", r.get("reply")),
            }
            for r in extras["rectifications"] or []
        ],
        "appointment": extras["appointment"],
    }


@dataclass(kw_only=True)
class Erased:
    """What an erasure rewrote or deleted, by table, and what it kept and why."""

    rows: Counter[str] = field(default_factory=Counter)
    kept: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"erased": dict(self.rows), "kept": self.kept}


async def erase_subject(
    conn: asyncpg.Connection, vault: Vault, mobile: str, *, actor: Actor, now: datetime
) -> Erased:
    """De-identify and delete what is held about ``mobile``; OpenCases while it has one open."""
    who = subject(vault, mobile)
    form = StoredForm(vault)
    done = Erased()
    async with conn.transaction():
        cases = await conn.fetch(Q["subject_cases"], who.indexes, who.digits)
        _refuse_while_handled(who, cases)
        applicants = [_applicant(form, c["applicant"]) for c in cases]
        known = replacements({"mobile": who.digits}) + [
            pair for a in applicants for pair in replacements(a)
        ]
        emails = _emails(applicants)
        for case in cases:
            counts = await deidentify_case(conn, form, case["case_no"], now=now)
            done.rows.update(counts)
            await record(
                conn,
                at=now,
                role=actor.role,
                actor=actor.name,
                action=DEIDENTIFIED,
                subject=case["case_no"],
                detail={"reason": "erasure", **counts},
            )
        await _loose_messages(conn, form, who, emails, known, done)
        await _loose_texts(conn, form, who, known, done)
        await _sign_ins(conn, vault, who, done)
        done.rows["subscribers"] += _count(
            await conn.execute(
                Q["subject_drop_subscriptions"], _addresses(vault, who, emails), who.digits, emails
            )
        )
        done.kept.extend(await _kept(conn, who))
        await record(
            conn,
            at=now,
            role=actor.role,
            actor=actor.name,
            action=ERASED,
            subject=who.masked,
            detail={**dict(done.rows), "case_nos": [c["case_no"] for c in cases]},
        )
    return done


def _refuse_while_handled(who: Subject, cases: Sequence[Mapping[str, Any]]) -> None:
    busy = [c["case_no"] for c in cases if c["status"] not in FINISHED or c["rectification_open"]]
    if busy:
        raise OpenCases(
            f"{who.masked} has {len(busy)} case(s) still being handled "
            f"({'、'.join(busy[:5])}{'…' if len(busy) > 5 else ''}): their personal data "
            "is needed until they are closed or withdrawn and any rectification is "
            "closed (《个人信息保护法》 Art. 47); erase again after that"
        )


async def _kept(conn: asyncpg.Connection, who: Subject) -> list[str]:
    """What erasure leaves on purpose, each with why: an official's entry, the opt-out."""
    kept = [
        f"people: {person['person_id']} is an official in the directory with this "
        "number; change or remove it with PUT /v1/people/{person_id}"
        for person in await conn.fetch(Q["subject_people"], who.indexes, who.digits)
    ]
    if await conn.fetchval(Q["subject_opt_out"], who.indexes, who.digits) is not None:
        kept.append("opt_outs: the TD opt-out stays, so announcements stay stopped for this number")
    return kept


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


async def _loose_messages(
    conn: asyncpg.Connection,
    form: StoredForm,
    who: Subject,
    emails: list[str],
    known: list[tuple[str, str]],
    done: Erased,
) -> None:
    """Messages to the number outside its cases (replies, announcements), masked."""
    for m in await conn.fetch(
        Q["subject_messages"], _addresses(form.vault, who, emails), who.digits, emails
    ):
        clear = _parts(form.vault, m)
        title = _opened(form, "messages", "subject", m["subject"])
        masked = MessageParts(
            recipient=mask_address(m["channel"], clear.recipient),
            body=scrub(clear.body or "", known),
        )
        await conn.execute(
            Q["subject_message_deidentified"],
            m["id"],
            seal_parts(form.vault, masked),
            form.write_text("messages", "subject", scrub(title, known) if title else title),
        )
        done.rows["messages"] += 1


async def _loose_texts(
    conn: asyncpg.Connection,
    form: StoredForm,
    who: Subject,
    known: list[tuple[str, str]],
    done: Erased,
) -> None:
    for r in await conn.fetch(Q["subject_inbound_sms"], who.indexes, who.digits):
        text = _opened(form, "inbound_sms", "text", r["text"]) or ""
        await conn.execute(
            Q["privacy_inbound_deidentified"],
            r["id"],
            form.write_text("inbound_sms", "mobile", who.masked),
            form.write_text("inbound_sms", "text", scrub(text, known)),
        )
        done.rows["inbound_sms"] += 1
    for r in await conn.fetch(Q["subject_offers"], who.indexes, who.digits):
        await conn.execute(
            Q["privacy_case_offers_deidentified"],
            r["key"],
            form.write_text("appointment_offers", "mobile", who.masked),
        )
        done.rows["appointment_offers"] += 1


async def _sign_ins(conn: asyncpg.Connection, vault: Vault, who: Subject, done: Erased) -> None:
    """SMS codes and WAP sessions of the number go (sessions are few and short: opened)."""
    done.rows["wap_codes"] += _count(
        await conn.execute(Q["subject_drop_codes"], who.indexes, who.digits)
    )
    form = StoredForm(vault)
    for s in await conn.fetch(Q["subject_sessions"]):
        if mobile_digits(_opened(form, "wap_sessions", "mobile", s["mobile"]) or "") == who.digits:
            await conn.execute(Q["subject_drop_session"], s["sid_mac"])
            done.rows["wap_sessions"] += 1
