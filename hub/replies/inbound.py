"""What a delivery report or an applicant's text means, applied inside the callback's transaction.

Receipts (:func:`apply_receipts`): a delivered report moves the SMS to
``delivered``; an undelivered one is final for that send — the row becomes
``failed`` with the carrier's code, parked so the dispatcher never resends it,
and a mandatory notice goes on to its fallback channel (``hub.notices.outbox.fall_back``).

Replies (:func:`handle_texts`), from the sender's number only:

==================  =====================================================================
``1``–``5``         rates the case of the latest evaluation prompt sent to that number
``CX <case_no>``    answers with a ``status_reply``, only to the case's applicant's number
``TD`` / ``退订``   opts the number out of optional notices (never mandatory ones)
``YY <case_no>``    短信预约: answers with numbered free pickup slots (``appointment_slots``)
a slot's number     books that slot (capacity respected); a reminder the working day before
anything else       kept in ``inbound_sms`` for supervisors
==================  =====================================================================

A bare number answers whichever was sent last: an open slot offer or an
evaluation prompt. Every text is stored first, keyed by the provider's id, so a
provider's retry changes nothing. Answers go through the outbox, so they are
durable and show in the message log. Nothing here discloses a case to a number
that is not its applicant's: such texts are stored and not answered.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
import structlog

from channels.receipts import DeliveryReport, InboundSms
from core.errors import CalendarYearUnknown
from core.events import mobile_digits
from core.notices import ChannelKind, MessageStatus, NoticeKind
from hub.notices.notify import case_context
from hub.notices.outbox import Address, Notice, enqueue, fall_back
from hub.notices.recipients import Routing
from hub.notices.sealing import recipient_of
from hub.notices.words import status_words, suspension_reason
from hub.privacy.fields import (
    APPOINTMENT_OFFERS_MOBILE,
    APPOINTMENTS_MOBILE,
    INBOUND_SMS_MOBILE,
    INBOUND_SMS_TEXT,
    mobile_index,
    mobile_lookup,
)
from hub.privacy.records import is_applicants_number
from hub.privacy.vault import Vault
from hub.replies.evaluations import rate_case
from hub.replies.opt_outs import opt_out
from hub.settings import AppointmentSettings
from hub.store.queries import Q

__all__ = [
    "Command",
    "ReceiptOutcome",
    "Replies",
    "apply_receipts",
    "inbound_keys",
    "parse_command",
]

log = structlog.get_logger(__name__)

# A pickup can be booked once the result exists; before that the applicant gets the status.
BOOKABLE = frozenset({"decided", "ready_for_pickup"})


# --- what a text says ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    """A parsed text: ``verb`` is number, query, opt_out, book or other."""

    verb: str
    number: int | None = None
    case_no: str | None = None


_QUERY = re.compile(r"^(?:CX|查询)\s*([A-Za-z0-9][\w\-/]*)$", re.IGNORECASE)
_BOOK = re.compile(r"^(?:YY|预约)\s*([A-Za-z0-9][\w\-/]*)$", re.IGNORECASE)


def parse_command(text: str) -> Command:
    """Read a reply; full-width forms (``５``, ``ＣＸ``) count as their ASCII twins."""
    plain = " ".join(unicodedata.normalize("NFKC", text).split())
    if re.fullmatch(r"[1-9]", plain):
        return Command(verb="number", number=int(plain))
    if plain.upper() in ("TD", "退订"):
        return Command(verb="opt_out")
    if match := _QUERY.match(plain):
        return Command(verb="query", case_no=match[1])
    if match := _BOOK.match(plain):
        return Command(verb="book", case_no=match[1])
    return Command(verb="other")


def inbound_keys(sms: InboundSms, raw: Mapping[str, Any], vault: Vault) -> list[str]:
    """The provider's identity of one upstream text, for deduplicating retried pushes: the
    one to store first, then the same identity under each previous data key.

    Aliyun numbers each text (``sequence_id``); Tencent's reply push has no id, so
    the sender, the provider's timestamp and the text together identify it: keyed
    with the blind-index key, since a plain hash of a number, a stored time and a
    short text like ``TD`` gives the number away to whoever tries every number. A
    retry that arrives after the data key changed is found by the identity under the
    key it was first stored with (decision 0016); ``cuiban keys rotate`` leaves stored
    identities as they are.
    """
    if sms.provider == "aliyun" and raw.get("sequence_id") not in (None, ""):
        return [f"aliyun:{raw['sequence_id']}"]
    stamp = sms.received_at.isoformat() if sms.received_at else str(raw.get("time", ""))
    identity = f"{mobile_digits(sms.mobile)}|{stamp}|{sms.text}"
    return [f"{sms.provider}:{digest.hex()[:32]}" for digest in vault.blind_indexes(identity)]


# --- receipts ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ReceiptOutcome:
    """How many reports did what; ``waiting`` ones the provider should push again later."""

    delivered: int = 0
    undelivered: int = 0
    fallbacks: int = 0
    unknown: int = 0
    ignored: int = 0
    waiting: int = 0


def _sent_to(vault: Vault, row: Mapping[str, Any], mobile: str) -> bool:
    """Whether the SMS ``row`` went to ``mobile`` (its recipient opened; clear if stored so)."""
    return mobile_digits(recipient_of(vault, row)) == mobile_digits(mobile)


async def apply_receipts(
    conn: asyncpg.Connection, reports: Sequence[DeliveryReport], *, now: datetime, vault: Vault
) -> ReceiptOutcome:
    """Apply delivery reports (idempotent: a report for a settled message changes nothing)."""
    counts = dict.fromkeys(("delivered", "undelivered", "fallbacks", "unknown"), 0)
    counts |= {"ignored": 0, "waiting": 0}
    for report in reports:
        echoed = report.message_id or ""
        our_id = int(echoed) if echoed.isdigit() else None
        row = await conn.fetchrow(Q["receipt_target"], report.provider_message_id, our_id)
        if row is not None and not _sent_to(vault, row, report.mobile):
            row = None  # an echoed id for someone else's message: not ours to settle
        fields = {
            "provider": report.provider,
            "provider_message_id": report.provider_message_id,
            "code": report.code,
        }
        if row is None:
            log.warning("receipt_unknown", **fields)
            counts["unknown"] += 1
            continue
        if row["status"] in (MessageStatus.QUEUED, MessageStatus.SENDING):
            # The send's own outcome is not recorded yet: let the provider push again.
            counts["waiting"] += 1
            continue
        if row["status"] != MessageStatus.SENT:
            counts["ignored"] += 1  # already settled by an earlier push
            continue
        if report.delivered:
            await conn.execute(
                Q["receipt_delivered"],
                row["id"],
                report.reported_at or now,
                report.provider_message_id,
                now,
            )
            log.info("receipt_delivered", message_id=row["id"], **fields)
            counts["delivered"] += 1
            continue
        code = report.code or "UNDELIVERED"
        reason = f"undelivered (carrier code {code})" + (
            f": {report.description}" if report.description else ""
        )
        failed = await conn.fetchrow(
            Q["receipt_undelivered"], row["id"], reason, code, report.provider_message_id, now
        )
        counts["undelivered"] += 1
        new_id = (
            await fall_back(conn, dict(failed), now=now, reason=reason, vault=vault)
            if failed
            else None
        )
        if new_id is not None:
            counts["fallbacks"] += 1
        log.warning(
            "receipt_undelivered", message_id=row["id"], fallback_message_id=new_id, **fields
        )
    return ReceiptOutcome(**counts)


# --- replies -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Handled:
    handled_as: str
    case_no: str | None = None
    detail: str | None = None


class Replies:
    """Acts on applicants' texts with the hub's routing (calendar, links, policy)."""

    def __init__(
        self,
        routing: Routing,
        appointments: AppointmentSettings,
        *,
        max_attempts: int,
        vault: Vault,
    ) -> None:
        self.routing = routing
        self.vault = vault
        self.slots = appointments
        self.max_attempts = max_attempts

    async def handle(
        self,
        conn: asyncpg.Connection,
        texts: Sequence[tuple[InboundSms, Sequence[str]]],
        *,
        now: datetime,
    ) -> dict[str, int]:
        """Store each new text and act on it; return how many were handled as what.

        Each text comes with its identities (:func:`inbound_keys`): stored by the first,
        and a duplicate if it is already stored under any of them.
        """
        counts: dict[str, int] = {}
        for sms, keys in texts:
            earlier = list(keys[1:])
            if earlier and await conn.fetchval(Q["inbound_sms_known"], earlier):
                counts["duplicate"] = counts.get("duplicate", 0) + 1
                continue
            inbound_id = await conn.fetchval(
                Q["insert_inbound_sms"],
                sms.provider,
                keys[0],
                self.vault.seal(sms.mobile, field=INBOUND_SMS_MOBILE),
                self.vault.seal(sms.text, field=INBOUND_SMS_TEXT),
                sms.sign_name,
                sms.extend,
                sms.received_at,
                now,
                mobile_index(self.vault, sms.mobile),
            )
            if inbound_id is None:
                counts["duplicate"] = counts.get("duplicate", 0) + 1
                continue
            result = await self._act(conn, inbound_id, sms, now)
            await conn.execute(
                Q["mark_inbound_sms"], inbound_id, result.handled_as, result.case_no, result.detail
            )
            log.info(
                "inbound_sms",
                inbound_id=inbound_id,
                provider=sms.provider,
                handled_as=result.handled_as,
                case_no=result.case_no,
            )
            counts[result.handled_as] = counts.get(result.handled_as, 0) + 1
        return counts

    async def _act(
        self, conn: asyncpg.Connection, inbound_id: int, sms: InboundSms, now: datetime
    ) -> Handled:
        command = parse_command(sms.text)
        mobile = mobile_digits(sms.mobile)
        if command.verb == "opt_out":
            cancelled = await opt_out(conn, self.vault, mobile, now=now, inbound_id=inbound_id)
            return Handled(handled_as="opt_out", detail=f"queued optional SMS: {cancelled}")
        if command.verb == "number":
            assert command.number is not None
            return await self._number(conn, inbound_id, mobile, command.number, now)
        if command.verb in ("query", "book"):
            assert command.case_no is not None
            case = await conn.fetchrow(Q["case_for_reply"], command.case_no)
            if case is None or not is_applicants_number(self.vault, case, mobile):
                # Never say whether the case exists to a number that is not its applicant's.
                return Handled(
                    handled_as=f"{command.verb}_refused",
                    case_no=case["case_no"] if case else None,
                    detail="unknown case or not the applicant's number; not answered",
                )
            if command.verb == "query" or case["status"] not in BOOKABLE:
                await self._status_reply(conn, case, mobile, inbound_id, now)
                return Handled(
                    handled_as="status_query" if command.verb == "query" else "book_not_ready",
                    case_no=case["case_no"],
                )
            return await self._offer(conn, case, mobile, f"appointment_slots:{inbound_id}", now)
        return Handled(handled_as="other")

    # --- CX ------------------------------------------------------------------------

    async def _status_reply(
        self,
        conn: asyncpg.Connection,
        case: Mapping[str, Any],
        mobile: str,
        inbound_id: int,
        now: datetime,
    ) -> None:
        node_name = await conn.fetchval(Q["current_node_name"], case["case_no"])
        status = status_words(case["status"])
        if case["suspended_since"] is not None:
            reasons = [s.get("reason") for s in case["suspensions"] or [] if isinstance(s, dict)]
            raw = (reasons[-1] if reasons else None) or ""
            reason = suspension_reason(raw)
            status = f"暂停计时（{reason}）" if reason else "暂停计时"
        context = case_context(self.routing, case, now) | {
            "status": status,
            "node_name": node_name or "无",
        }
        await self._answer(
            conn, NoticeKind.STATUS_REPLY, f"status_reply:{inbound_id}", case, mobile, context, now
        )

    async def _answer(
        self,
        conn: asyncpg.Connection,
        kind: NoticeKind,
        key: str,
        case: Mapping[str, Any],
        mobile: str,
        context: Mapping[str, Any],
        not_before: datetime,
        *,
        now: datetime | None = None,
    ) -> None:
        # Only to the number that asked (the applicant's): a reply is not chased elsewhere.
        notice = Notice(
            kind=kind,
            dedupe_key=key,
            addresses=[Address(channel=ChannelKind.SMS, recipient=mobile)],
            context=context,
            not_before=not_before,
            case_no=case["case_no"],
        )
        await enqueue(
            conn,
            [notice],
            now=now or not_before,
            max_attempts=self.max_attempts,
            vault=self.vault,
        )

    # --- YY and the number that books ------------------------------------------------

    def _candidates(self, now: datetime) -> list[tuple[date, str]]:
        """Each slot of the next ``days_ahead`` working days, starting with tomorrow's."""
        calendar = self.routing.calendar
        today = now.astimezone(self.routing.tz).date()
        found: list[tuple[date, str]] = []
        day = today
        try:
            for _ in range(self.slots.days_ahead):
                day = calendar.add_working_days(day, 1)
                found += [(day, slot) for slot in self.slots.slots]
        except CalendarYearUnknown:
            pass  # offer what the calendar knows
        return found

    @staticmethod
    def _label(day: date, slot: str) -> str:
        start, end = slot.split("-")
        if end <= "12:00":
            part = "上午"
        elif start >= "12:00":
            part = "下午"
        else:
            part = slot
        return f"{day.month}月{day.day}日{part}"

    async def _offer(
        self,
        conn: asyncpg.Connection,
        case: Mapping[str, Any],
        mobile: str,
        key: str,
        now: datetime,
    ) -> Handled:
        candidates = self._candidates(now)
        booked = {
            (r["day"], r["slot"]): r["booked"]
            for r in await conn.fetch(Q["slot_bookings"], sorted({d for d, _ in candidates}))
        }
        free = [c for c in candidates if booked.get(c, 0) < self.slots.capacity]
        free = free[: self.slots.offer_count]
        index = mobile_index(self.vault, mobile)
        await conn.execute(
            Q["close_offers"], mobile_lookup(self.vault, mobile), case["case_no"], now, mobile
        )
        if free:
            offered = [
                {"n": n, "day": d.isoformat(), "slot": s, "label": self._label(d, s)}
                for n, (d, s) in enumerate(free, start=1)
            ]
            await conn.execute(
                Q["insert_offer"],
                self.vault.seal(mobile, field=APPOINTMENT_OFFERS_MOBILE),
                case["case_no"],
                offered,
                now,
                now + timedelta(hours=self.slots.offer_valid_hours),
                index,
            )
            slots_text = " ".join(f"{o['n']}.{o['label']}" for o in offered)
        else:
            slots_text = "暂无空闲时段，请致电窗口"
        context = case_context(self.routing, case, now) | {"slots": slots_text}
        await self._answer(conn, NoticeKind.APPOINTMENT_SLOTS, key, case, mobile, context, now)
        return Handled(
            handled_as="book_request" if free else "book_none_free",
            case_no=case["case_no"],
            detail=slots_text,
        )

    async def _number(
        self, conn: asyncpg.Connection, inbound_id: int, mobile: str, number: int, now: datetime
    ) -> Handled:
        offer = await conn.fetchrow(
            Q["latest_open_offer"], mobile_lookup(self.vault, mobile), now, mobile
        )
        prompt = await conn.fetchrow(
            Q["latest_evaluation_prompt"], mobile_lookup(self.vault, mobile), mobile
        )
        if offer is not None and (prompt is None or offer["offered_at"] >= prompt["sent_at"]):
            return await self._book(conn, inbound_id, offer, mobile, number, now)
        if prompt is None or not 1 <= number <= 5:
            return Handled(handled_as="other", detail="a number, but no prompt or offer it answers")
        rated = await rate_case(
            conn,
            prompt["case_no"],
            number,
            comment=None,
            source="sms",
            now=now,
            routing=self.routing,
        )
        return Handled(
            handled_as="rating" if rated else "rating_refused",
            case_no=prompt["case_no"],
            detail=None if rated else "the case was already rated; the first rating stands",
        )

    async def _book(
        self,
        conn: asyncpg.Connection,
        inbound_id: int,
        offer: Mapping[str, Any],
        mobile: str,
        number: int,
        now: datetime,
    ) -> Handled:
        case_no: str = offer["case_no"]
        chosen = next((o for o in offer["slots"] if o["n"] == number), None)
        if chosen is None:
            return Handled(
                handled_as="book_invalid", case_no=case_no, detail=f"no slot numbered {number}"
            )
        day, slot = date.fromisoformat(chosen["day"]), chosen["slot"]
        case = await conn.fetchrow(Q["case_for_reply"], case_no)
        assert case is not None  # offers are deleted with their case
        confirm_key = f"appointment_confirmed:{inbound_id}"
        current = await conn.fetchrow(Q["appointment_of_case"], case_no)
        if current is not None and (current["day"], current["slot"]) == (day, slot):
            await conn.execute(
                Q["close_offers"], mobile_lookup(self.vault, mobile), case_no, now, mobile
            )
            # The same number again: it is booked already; say so again.
            context = self._booking_context(case, chosen, now)
            await self._answer(
                conn, NoticeKind.APPOINTMENT_CONFIRMED, confirm_key, case, mobile, context, now
            )
            return Handled(handled_as="booked", case_no=case_no, detail=chosen["label"])
        taken = await conn.fetchval(Q["take_slot"], day, slot, self.slots.capacity)
        if taken is None:
            # Full since the offer went out: offer what is free now instead.
            await self._offer(conn, case, mobile, f"appointment_slots:{inbound_id}", now)
            return Handled(handled_as="book_full", case_no=case_no, detail=chosen["label"])
        reminder_key = await self._hold(conn, case_no, current, chosen, mobile, now)
        context = self._booking_context(case, chosen, now)
        # Booked: say so now (the reply the applicant waits for), and remind the day before.
        await self._answer(
            conn, NoticeKind.APPOINTMENT_CONFIRMED, confirm_key, case, mobile, context, now
        )
        await self._answer(
            conn,
            NoticeKind.APPOINTMENT_REMINDER,
            reminder_key,
            case,
            mobile,
            context,
            self._reminder_at(day, now),
            now=now,
        )
        return Handled(handled_as="booked", case_no=case_no, detail=chosen["label"])

    async def _hold(
        self,
        conn: asyncpg.Connection,
        case_no: str,
        current: Mapping[str, Any] | None,
        chosen: Mapping[str, Any],
        mobile: str,
        now: datetime,
    ) -> str:
        """Record the booking of the ``chosen`` slot, already taken, in place of ``current``.

        The slot it replaces is freed and that slot's reminder cancelled; the case's other
        offers are closed. Returns the key of the new slot's reminder.
        """
        day, slot = date.fromisoformat(chosen["day"]), chosen["slot"]
        if current is not None:
            await conn.execute(Q["release_slot"], current["day"], current["slot"])
            await conn.execute(
                Q["cancel_queued_message"],
                current["reminder_key"],
                f"appointment moved to {chosen['label']}",
                now,
            )
        reminder_key = f"appointment_reminder:{case_no}:{day.isoformat()}:{slot}"
        await conn.execute(
            Q["upsert_appointment"],
            case_no,
            day,
            slot,
            self.vault.seal(mobile, field=APPOINTMENTS_MOBILE),
            now,
            reminder_key,
        )
        await conn.execute(
            Q["close_offers"], mobile_lookup(self.vault, mobile), case_no, now, mobile
        )
        return reminder_key

    def _booking_context(
        self, case: Mapping[str, Any], chosen: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        """What a booking's confirmation and reminder say: the slot and where to go."""
        pickup = case["pickup"] or {}
        location = (pickup.get("location") if isinstance(pickup, dict) else None) or (
            self.slots.location
        )
        label, slot = str(chosen["label"]), str(chosen["slot"])
        return case_context(self.routing, case, now) | {
            "slot": f"{label}（{slot}）" if label.endswith("午") else label,
            "location": location,
        }

    def _reminder_at(self, day: date, now: datetime) -> datetime:
        """Office start on the working day before ``day``; at once if that has passed."""
        calendar, tz = self.routing.calendar, self.routing.tz
        office: time = self.routing.settings.policy.office_start
        try:
            before = calendar.subtract_working_days(day, 1)
        except CalendarYearUnknown:
            before = day - timedelta(days=1)
        moment = datetime.combine(before, office, tzinfo=tz)
        return self.routing.applicant_time(max(moment, now))
