"""One case's personal data replaced by de-identified forms: what retention and erasure do.

去标识化 (《个人信息保护法》 Art. 73): after this no row of the case names its
applicant — the name becomes 张*, the mobile 138****5678, the e-mail z***@example.cn,
other identifiers (openid, …) go — and the texts that mentioned them (message
bodies, comments, inbound SMS, complaints) say the same masked forms instead.
Every figure supervision counts stays as it was: statuses, instants, deadlines,
levels, ratings, urges, message statuses and their ``content_hash`` (which still
proves what was sent). The stored fold is derived data and is dropped.

The caller holds the transaction; :func:`deidentify_case` locks the case row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from core.events import mobile_digits
from hub.notices.sealing import MessageParts, parts, seal_parts
from hub.notices.words import mask_address, mask_mobile, mask_mobiles_in, mask_name
from hub.privacy.stored import StoredForm
from hub.store.queries import Q

#: The audit action of each case de-identified, by retention or by erasure.
DEIDENTIFIED = "case.deidentified"

#: What the applicant object keeps, masked; anything else in it (openid, id number …) goes.
KEPT = ("name", "mobile", "email")

Replacements = Sequence[tuple[str, str]]


def masked_applicant(applicant: Mapping[str, Any]) -> dict[str, str]:
    """张* / 138****5678 / z***@example.cn: recognisable to the person, useless to others."""
    masked: dict[str, str] = {}
    if isinstance(name := applicant.get("name"), str) and name:
        masked["name"] = mask_name(name)
    if isinstance(mobile := applicant.get("mobile"), str) and mobile:
        masked["mobile"] = mask_mobile(mobile_digits(mobile))
    if isinstance(email := applicant.get("email"), str) and email:
        masked["email"] = mask_address("email", email) or "***"
    return masked


def replacements(applicant: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each personal string of the applicant with what replaces it inside texts, longest first."""
    pairs: dict[str, str] = {}
    masked = masked_applicant(applicant)
    for key in KEPT:
        value = applicant.get(key)
        if isinstance(value, str) and len(value.strip()) > 1:
            pairs[value.strip()] = masked[key]
    if isinstance(mobile := applicant.get("mobile"), str) and mobile:
        pairs.setdefault(mobile_digits(mobile), masked["mobile"])
    for key, value in applicant.items():
        if key not in KEPT and isinstance(value, str) and len(value) >= 4:
            pairs.setdefault(value, "***")  # an openid or other identifier, wherever it was copied
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def scrub(text: str, known: Replacements) -> str:
    """A text with the applicant's strings masked, and any other mobile number too."""
    for clear, masked in known:
        # Again until none is left: inside a longer run of digits one pass can leave a
        # second, overlapping occurrence (…113131111111113…). Each pass shortens the
        # clear text, so this ends.
        while clear in text and clear not in masked:
            text = text.replace(clear, masked)
    return mask_mobiles_in(text)


def scrub_json(value: Any, known: Replacements) -> Any:
    """A JSON value with every string in it scrubbed (keys included)."""
    if isinstance(value, str):
        return scrub(value, known)
    if isinstance(value, Mapping):
        return {scrub(str(k), known): scrub_json(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, known) for v in value]
    return value


def _applicant_of(stored: Any) -> Mapping[str, Any]:
    if isinstance(stored, str):  # JSON text (a reader's legacy form)
        try:
            stored = orjson.loads(stored)
        except orjson.JSONDecodeError:
            return {}
    return stored if isinstance(stored, Mapping) else {}


async def deidentify_case(
    conn: asyncpg.Connection, form: StoredForm, case_no: str, *, now: datetime
) -> dict[str, int]:
    """Rewrite every personal field of ``case_no``; the count of rows changed, by table.

    Marks the case ``deidentified_at`` so retention passes it by next time.
    """
    row = await conn.fetchrow(Q["privacy_case_for_update"], case_no)
    if row is None:
        return {}
    applicant = _applicant_of(form.read_json("cases", "applicant", row["applicant"]))
    known = replacements(applicant)
    masked = masked_applicant(applicant) if applicant else None
    await conn.execute(
        Q["privacy_case_deidentified"],
        case_no,
        form.write_json("cases", "applicant", masked),
        now,
    )
    counts = {"cases": 1}
    counts["events"] = await _events(conn, form, case_no, known)
    counts["case_folds"] = _count(await conn.execute(Q["privacy_drop_fold"], case_no))
    counts["messages"] = await _messages(conn, form, case_no, known)
    counts["inbound_sms"] = await _inbound(conn, form, case_no, known)
    counts["appointments"] = await _appointments(conn, form, case_no)
    counts["texts"] = await _free_texts(conn, form, case_no, known)
    return counts


def _count(status: str) -> int:
    """The row count of an asyncpg command status ("DELETE 3")."""
    return int(status.rsplit(" ", 1)[-1])


async def _events(
    conn: asyncpg.Connection, form: StoredForm, case_no: str, known: Replacements
) -> int:
    changed = 0
    for event in await conn.fetch(Q["privacy_case_events"], case_no):
        payload = form.read_keys("events", "payload", event["payload"])
        if isinstance(payload, Mapping) and isinstance(payload.get("applicant"), Mapping):
            payload = {**payload, "applicant": masked_applicant(payload["applicant"])}
        cleaned = scrub_json(payload, known)
        if cleaned != payload or cleaned != event["payload"]:
            stored = form.write_keys("events", "payload", cleaned)
            await conn.execute(Q["privacy_event_payload"], event["seq"], stored)
            changed += 1
    return changed


async def _messages(
    conn: asyncpg.Connection, form: StoredForm, case_no: str, known: Replacements
) -> int:
    rows = await conn.fetch(Q["privacy_case_messages"], case_no)
    for m in rows:
        # Either form of row (one sealed value, or sealed column by column) is written back
        # as one sealed value; its personal variables and fallbacks are dropped.
        clear = parts(form.vault, m)
        subject = form.read_text("messages", "subject", m["subject"])
        context = form.read_json("messages", "context", m["context"])
        params = form.read_json("messages", "params", m["params"])
        masked = MessageParts(
            recipient=mask_address(m["channel"], clear.recipient) or "",
            body=scrub(clear.body, known) if clear.body else "",
            html=scrub(clear.html, known) if clear.html else clear.html,
        )
        await conn.execute(
            Q["privacy_message_deidentified"],
            m["id"],
            seal_parts(form.vault, masked),
            form.write_text("messages", "subject", scrub(subject, known) if subject else subject),
            form.write_json("messages", "context", scrub_json(context, known)),
            form.write_json("messages", "params", scrub_json(params, known)),
        )
    return len(rows)


async def _inbound(
    conn: asyncpg.Connection, form: StoredForm, case_no: str, known: Replacements
) -> int:
    rows = await conn.fetch(Q["privacy_case_inbound_sms"], case_no)
    for r in rows:
        mobile = form.read_text("inbound_sms", "mobile", r["mobile"]) or ""
        text = form.read_text("inbound_sms", "text", r["text"]) or ""
        await conn.execute(
            Q["privacy_inbound_deidentified"],
            r["id"],
            form.write_text("inbound_sms", "mobile", mask_mobile(mobile_digits(mobile))),
            form.write_text("inbound_sms", "text", scrub(text, known)),
        )
    return len(rows)


async def _appointments(conn: asyncpg.Connection, form: StoredForm, case_no: str) -> int:
    changed = 0
    for table, query in (
        ("appointments", "privacy_case_appointments"),
        ("appointment_offers", "privacy_case_offers"),
    ):
        for r in await conn.fetch(Q[query], case_no):
            mobile = form.read_text(table, "mobile", r["mobile"]) or ""
            masked = form.write_text(table, "mobile", mask_mobile(mobile_digits(mobile)))
            await conn.execute(Q[f"{query}_deidentified"], r["key"], masked)
            changed += 1
    return changed


async def _free_texts(
    conn: asyncpg.Connection, form: StoredForm, case_no: str, known: Replacements
) -> int:
    """What the applicant wrote (ratings' comments, complaints) and what they were answered."""
    changed = 0
    for r in await conn.fetch(Q["privacy_case_complaints"], case_no):
        content = form.read_text("wap_complaints", "content", r["content"]) or ""
        masked = form.write_text("wap_complaints", "content", scrub(content, known))
        await conn.execute(Q["privacy_complaint_deidentified"], r["id"], masked)
        changed += 1
    comment = await conn.fetchval(Q["privacy_case_evaluation"], case_no)
    if comment:
        clear = form.read_text("evaluations", "comment", comment) or ""
        masked = form.write_text("evaluations", "comment", scrub(clear, known))
        await conn.execute(Q["privacy_evaluation_deidentified"], case_no, masked)
        changed += 1
    for r in await conn.fetch(Q["privacy_case_rectifications"], case_no):
        values = [
            form.write_text("rectifications", column, scrub(clear, known) if clear else clear)
            for column in ("comment", "finding", "reply")
            for clear in [form.read_text("rectifications", column, r[column])]
        ]
        await conn.execute(Q["privacy_rectification_deidentified"], r["id"], *values)
        changed += 1
    return changed
