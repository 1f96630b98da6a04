"""Who gets a notice, and where: people's channels, deputies while away, quiet hours, links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from core.calendar import WorkingCalendar
from core.notices import ChannelKind, NoticeKind
from core.reminders import QuietHours, on_working_day
from hub.notices.links import LinkSigner
from hub.notices.outbox import Address, Notice
from hub.privacy.people import opened_person
from hub.privacy.vault import Vault
from hub.settings import Settings

# A reviewer who set no preference is tried on WeCom first, then SMS, then e-mail.
DEFAULT_ORDER = (ChannelKind.WECOM, ChannelKind.SMS, ChannelKind.EMAIL, ChannelKind.WECHAT_MP)
_FIELD = {
    ChannelKind.SMS: "mobile",
    ChannelKind.EMAIL: "email",
    ChannelKind.WECOM: "wecom_userid",
    ChannelKind.WECHAT_MP: "wechat_openid",
}


@dataclass(frozen=True, kw_only=True)
class Recipient:
    person_id: str
    name: str
    addresses: tuple[Address, ...]
    quiet: QuietHours | None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Routing:
    """What the planner needs to address notices: settings, calendar, links, the vault."""

    settings: Settings
    calendar: WorkingCalendar
    links: LinkSigner
    vault: Vault  # seals what the notices say as they enter the outbox

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.calendar.tz

    @property
    def enabled(self) -> frozenset[ChannelKind]:
        ch = self.settings.channels
        on = {ChannelKind.SMS, ChannelKind.WAP}
        if ch.email.enabled:
            on.add(ChannelKind.EMAIL)
        if ch.wecom.enabled:
            on.add(ChannelKind.WECOM)
        if ch.wechat_mp.enabled:
            on.add(ChannelKind.WECHAT_MP)
        return frozenset(on)

    @property
    def default_quiet(self) -> QuietHours | None:
        return QuietHours.parse(self.settings.policy.quiet_hours)

    def case_link(self, case_no: str, now: datetime) -> str:
        token = self.links.sign("c", case_no, now=now)
        return f"{self.settings.http.public_base_url}/wap/c/{token}"

    def inbox_link(self, person_id: str, now: datetime) -> str:
        token = self.links.sign("i", person_id, now=now)
        return f"{self.settings.http.public_base_url}/wap/inbox/{token}"

    def reviewer_time(self, instant: datetime, quiet: QuietHours | None) -> datetime:
        """Reviewers are reminded on working days, outside their quiet hours."""
        office_start = self.settings.policy.office_start
        moment = on_working_day(instant, self.calendar, office_start=office_start, tz=self.tz)
        if quiet is not None:
            moment = quiet.release(moment, self.tz)
            # A quiet window can end on a day off (e.g. Saturday 07:30): wait again.
            moment = on_working_day(moment, self.calendar, office_start=office_start, tz=self.tz)
        return moment

    def applicant_time(self, instant: datetime) -> datetime:
        quiet = self.default_quiet
        return quiet.release(instant, self.tz) if quiet else instant

    def reviewer_notice(
        self,
        who: Recipient,
        kind: NoticeKind,
        key: str,
        context: Mapping[str, Any],
        *,
        now: datetime,
        case_no: str | None = None,
        node_id: str | None = None,
        link: str | None = None,
    ) -> Notice:
        """A notice to a reviewer, head or supervisor: linking their inbox (unless ``link``
        says where else), sent on a working day outside their quiet hours, deduplicated per
        ``key`` and person."""
        return Notice(
            kind=kind,
            dedupe_key=f"{key}:{who.person_id}",
            addresses=who.addresses,
            context={**context, "link": link or self.inbox_link(who.person_id, now)},
            not_before=self.reviewer_time(now, who.quiet),
            case_no=case_no,
            node_id=node_id,
            person_id=who.person_id,
            note=who.note,
        )

    def person_addresses(
        self, person: Mapping[str, Any] | None, person_id: str
    ) -> tuple[Address, ...]:
        """The person's reachable channels in their order; the WAP inbox always last."""
        found: list[Address] = []
        if person is not None:
            person = opened_person(self.vault, person)
            order = [ChannelKind(c) for c in person["channels"]] or list(DEFAULT_ORDER)
            for channel in order:
                if channel is ChannelKind.WAP or channel not in self.enabled:
                    continue
                value = person[_FIELD[channel]]
                if value:
                    found.append(Address(channel=channel, recipient=value))
        # The inbox page keeps every reviewer notice, so nothing is lost for want of a channel.
        found.append(Address(channel=ChannelKind.WAP, recipient=person_id))
        return tuple(found)

    def applicant_addresses(self, applicant: Mapping[str, Any]) -> tuple[Address, ...]:
        found = []
        if applicant.get("mobile"):
            found.append(Address(channel=ChannelKind.SMS, recipient=applicant["mobile"]))
        if applicant.get("wechat_openid") and ChannelKind.WECHAT_MP in self.enabled:
            found.append(
                Address(channel=ChannelKind.WECHAT_MP, recipient=applicant["wechat_openid"])
            )
        if applicant.get("email") and ChannelKind.EMAIL in self.enabled:
            found.append(Address(channel=ChannelKind.EMAIL, recipient=applicant["email"]))
        return tuple(found)


class People:
    """People rows loaded once per batch, with deputies resolved for absences."""

    def __init__(self, rows: Iterable[Mapping[str, Any]], routing: Routing) -> None:
        self._rows = {row["person_id"]: row for row in rows}
        self._routing = routing
        # Each person's addresses opened once per batch: a digest asks for its reader once
        # per open node, and opening a person is a vault open per sealed column.
        self._addresses: dict[str, tuple[Address, ...]] = {}

    @classmethod
    async def load(cls, conn: asyncpg.Connection, ids: Iterable[str], routing: Routing) -> People:
        wanted = sorted({i for i in ids if i})
        rows = await conn.fetch("SELECT * FROM people WHERE person_id = ANY($1::text[])", wanted)
        people = cls(rows, routing)
        deputies = {r["away_deputy"] for r in rows if r["away_deputy"]} - set(people._rows)
        if deputies:
            people._rows |= {
                r["person_id"]: r
                for r in await conn.fetch(
                    "SELECT * FROM people WHERE person_id = ANY($1::text[])", sorted(deputies)
                )
            }
        return people

    def name(self, person_id: str) -> str:
        row = self._rows.get(person_id)
        return (row["name"] if row and row["name"] else None) or person_id

    def display_name(self, person_id: str, *, unknown: str) -> str:
        """The person's name; for an id with no name on record, ``unknown`` (a role word).

        People read names, not ids ("sup-x催办您…"): an id made of ASCII letters, digits
        and punctuation is never shown, while a label someone typed (电子监察) is.
        """
        row = self._rows.get(person_id)
        if row and row["name"]:
            return str(row["name"])
        return person_id if person_id and not person_id.isascii() else unknown

    def recipient(self, person_id: str, at: datetime) -> Recipient:
        """The person, or their deputy while they are away (the note says so)."""
        row = self._rows.get(person_id)
        note = None
        if row and row["away_deputy"] and row["away_from"] <= at < row["away_to"]:
            deputy = row["away_deputy"]
            note = (
                f"routed to deputy {deputy}: {person_id} is away until {row['away_to'].isoformat()}"
            )
            person_id, row = deputy, self._rows.get(deputy)
        quiet_text = row["quiet_hours"] if row and row["quiet_hours"] else None
        addresses = self._addresses.get(person_id)
        if addresses is None:
            addresses = self._addresses[person_id] = self._routing.person_addresses(row, person_id)
        return Recipient(
            person_id=person_id,
            name=self.name(person_id),
            addresses=addresses,
            quiet=QuietHours.parse(quiet_text) if quiet_text else self._routing.default_quiet,
            note=note,
        )


def unique(ids: Sequence[str | None]) -> list[str]:
    """Ids in first-seen order without repeats or blanks (one notice per person)."""
    return list(dict.fromkeys(i for i in ids if i))


EVALUATION_DELAY = timedelta(hours=1)
