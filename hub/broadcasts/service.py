"""通知公告: announcements to many people on the same durable outbox as reminders.

``POST /v1/broadcasts`` renders the announcement once per channel, then expands the
audience into ``messages`` rows inside PostgreSQL, a keyset page
(``[broadcasts] batch_size`` rows) per transaction: memory stays flat whatever the
audience. Each address gets one row (the dedupe key is broadcast, channel and
address). Rows carry a higher ``priority`` number than reminders and a ``not_before``
spread at ``[broadcasts] rate_per_second`` per channel, pausing over the quiet hours,
so reminders due meanwhile are claimed first and the provider's rate limit is shared,
not swallowed. ``?dry_run=true`` previews the audience and stores nothing.

``GET /v1/broadcasts/{id}`` counts the rows by status; ``POST …/cancel`` cancels every
queued row in one statement. ``PUT /v1/lists/{name}`` keeps subscriber lists. The
routes are in hub/api/broadcasts.py; see docs/decisions/0010-broadcasts.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, LiteralString

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from channels.render import compose
from channels.sms_length import count_segments
from core.errors import InputError, NotFound
from core.events import Instant, is_mobile, mobile_digits
from core.notices import WAITING_STATUSES, ChannelKind, MessageStatus, NoticeKind
from core.reminders import QuietHours
from hub.notices.outbox import NOTIFY_CHANNEL
from hub.notices.recipients import DEFAULT_ORDER
from hub.notices.sealing import content_hash, seal_message
from hub.privacy.fields import SUBSCRIBERS_ADDRESS, address_index, reveal
from hub.privacy.people import opened_person
from hub.privacy.records import open_applicant
from hub.privacy.vault import Vault
from hub.replies.opt_outs import opted_out_numbers
from hub.settings import Settings
from hub.store.queries import Q
from hub.supervision import audit

Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ListName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
PUSH_CHANNELS = (ChannelKind.SMS, ChannelKind.EMAIL, ChannelKind.WECOM, ChannelKind.WECHAT_MP)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# The audience page with something appended: the insert of a page, or the dry run's counts.
AUDIENCE: LiteralString = "WITH page AS (\n" + Q["broadcast_audience"] + "\n)\n"
SLOT_PAGE: LiteralString = AUDIENCE + Q["broadcast_slot_page"]
AUDIENCE_COUNTS: LiteralString = AUDIENCE + Q["broadcast_audience_counts"]


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ApplicantsIn(_In):
    """Applicants of open cases, narrowed to some matters or departments when given."""

    matters: list[Code] = Field(default_factory=list, max_length=1000)
    departments: list[Code] = Field(default_factory=list, max_length=1000)


class AudienceIn(_In):
    departments: list[Code] = Field(default_factory=list, max_length=1000)
    department_heads: bool | list[Code] = False  # true: the heads of every department
    applicants: ApplicantsIn | None = None
    lists: list[ListName] = Field(default_factory=list, max_length=100)

    def empty(self) -> bool:
        return not (self.departments or self.department_heads or self.applicants or self.lists)

    def heads(self) -> list[str]:
        if self.department_heads is True:
            return ["*"]
        return list(self.department_heads) if self.department_heads else []


class BroadcastIn(_In):
    """An announcement: title and text (or template parameters), an audience, a time."""

    key: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    content: Annotated[str, StringConstraints(max_length=2000)] = ""
    link: Annotated[str, StringConstraints(max_length=500)] | None = None
    # Extra variables of the announcement templates (templates/announcement/*.j2).
    params: dict[Code, Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=dict, max_length=20
    )
    # A text per channel, instead of the rendered one (SMS providers with registered
    # templates still send the template with its parameters).
    body: dict[ChannelKind, Annotated[str, StringConstraints(min_length=1, max_length=5000)]] = (
        Field(default_factory=dict)
    )
    channels: list[ChannelKind] = Field(
        default_factory=lambda: [*PUSH_CHANNELS, ChannelKind.WAP], min_length=1
    )
    audience: AudienceIn
    send_at: Instant | None = None


class ListIn(_In):
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    mobiles: list[Annotated[str, StringConstraints(max_length=32)]] = Field(
        default_factory=list, max_length=200_000
    )
    emails: list[Annotated[str, StringConstraints(max_length=254)]] = Field(
        default_factory=list, max_length=200_000
    )


def _sign_name(settings: Settings) -> str:
    sms = settings.channels.sms
    if sms.provider == "aliyun":
        return str(sms.aliyun.sign_name)
    if sms.provider == "tencent":
        return str(sms.tencent.sign_name)
    return ""


def channels_used(body: BroadcastIn, enabled: frozenset[ChannelKind]) -> list[ChannelKind]:
    """The requested channels this centre has switched on, in the request's order."""
    return [c for c in dict.fromkeys(body.channels) if c in enabled]


def render_parts(
    body: BroadcastIn, channels: list[ChannelKind], settings: Settings
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The template variables and, per channel, the stored parts of every row: rendered once."""
    link = body.link or f"{settings.http.public_base_url}/wap/"
    context: dict[str, Any] = {"link": link, **body.params, "title": body.title}
    context.setdefault("content", body.content)
    parts: dict[str, dict[str, Any]] = {}
    for channel in channels:
        message = compose(
            message_id="broadcast",
            kind=NoticeKind.ANNOUNCEMENT,
            channel=channel,
            recipient="audience",
            context=context,
        )
        parts[channel.value] = {
            "subject": message.subject,
            "body": body.body.get(channel, message.body),
            "html": message.html if channel not in body.body else None,
            "link": message.link,
            "params": dict(message.params),
        }
    return context, parts


def warnings_for(parts: Mapping[str, Mapping[str, Any]], settings: Settings) -> list[str]:
    """What the SMS provider would refuse, said before anything is queued."""
    found: list[str] = []
    sms = settings.channels.sms
    if "sms" not in parts or sms.provider not in ("aliyun", "tencent"):
        return found
    provider = sms.aliyun if sms.provider == "aliyun" else sms.tencent
    if not provider.templates.get(NoticeKind.ANNOUNCEMENT.value):
        found.append(
            f"{sms.provider}: no template for announcement; set "
            f"channels.sms.{sms.provider}.templates.announcement or every SMS will fail"
        )
    if sms.provider == "aliyun":
        prefix = sms.aliyun.link_prefix
        for name, value in parts["sms"]["params"].items():
            text = value.removeprefix(prefix) if prefix else value
            if len(text) > 35:  # Aliyun 变量长度规范: 35 characters per variable
                found.append(
                    f"aliyun: template variable {name} has {len(text)} characters; "
                    "the limit is 35 (register a template with the text written in it)"
                )
    return found


def _quiet(settings: Settings) -> tuple[Any, Any]:
    quiet = QuietHours.parse(settings.policy.quiet_hours)
    return (quiet.start, quiet.end) if quiet else (None, None)


#: The ``people`` column of each push channel's address (as broadcast_audience reads them).
CONTACT_COLUMN = {
    "sms": "mobile",
    "email": "email",
    "wecom": "wecom_userid",
    "wechat_mp": "wechat_openid",
}


async def sealed_candidates(
    conn: asyncpg.Connection,
    audience: AudienceIn,
    channels: list[ChannelKind],
    vault: Vault,
    *,
    since: datetime,
) -> tuple[list[str], list[str]]:
    """The (channels, addresses) of the audience's applicants, people and subscribers whose
    contacts are sealed.

    SQL cannot open them, so they are opened here and handed to ``broadcast_audience``
    ($13, $14), which de-duplicates them with everyone else. Each is reached as the SQL
    reaches those stored in clear: an applicant by SMS, else e-mail; a person on the
    first of their channels (else WeCom, SMS, e-mail, WeChat) that the broadcast uses; a
    subscriber at the address of the list, if the broadcast uses its channel.
    """
    found: tuple[list[str], list[str]] = ([], [])

    def add(channel: str, address: Any) -> bool:
        if isinstance(address, str) and address:
            found[0].append(channel)
            found[1].append(address)
            return True
        return False

    applicants = audience.applicants
    if applicants is not None:
        wanted = [c for c in (ChannelKind.SMS, ChannelKind.EMAIL) if c in channels]
        rows = await conn.fetch(
            Q["broadcast_sealed_applicants"], list(applicants.matters), list(applicants.departments)
        )
        for row in rows:
            applicant = open_applicant(vault, row["applicant"])
            if isinstance(applicant, Mapping):
                for channel in wanted:
                    key = "mobile" if channel is ChannelKind.SMS else "email"
                    if add(channel.value, applicant.get(key)):
                        break
    push = [c.value for c in channels if c is not ChannelKind.WAP]
    for row in await conn.fetch(Q["broadcast_sealed_subscribers"], list(audience.lists), push):
        add(row["channel"], reveal(vault, row["address"], field=SUBSCRIBERS_ADDRESS))
    rows = await conn.fetch(
        Q["broadcast_sealed_people"], list(audience.departments), audience.heads(), since
    )
    for row in rows:
        person = opened_person(vault, row)
        order = list(person["channels"]) or [c.value for c in DEFAULT_ORDER]
        for channel in order:
            if channel in push and add(channel, person.get(CONTACT_COLUMN.get(channel, ""))):
                break
    return found


def _audience_args(
    audience: AudienceIn,
    channels: list[ChannelKind],
    *,
    since: datetime,
    cursor: tuple[str, str],
    limit: int | None,
    sealed: tuple[list[str], list[str]],
    opted_out: list[str],
) -> list[Any]:
    applicants = audience.applicants
    return [
        list(audience.departments),
        audience.heads(),
        applicants is not None,
        list(applicants.matters) if applicants else [],
        list(applicants.departments) if applicants else [],
        list(audience.lists),
        [c.value for c in channels if c is not ChannelKind.WAP],
        ChannelKind.WAP in channels,
        since,
        cursor[0],
        cursor[1],
        limit,
        sealed[0],
        sealed[1],
        opted_out,
    ]


def _member_since(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.broadcasts.member_days)


async def known_lists(conn: asyncpg.Connection, names: list[str]) -> None:
    if not names:
        return
    found = {
        r["name"]
        for r in await conn.fetch(
            "SELECT name FROM subscriber_lists WHERE name = ANY($1::text[])", names
        )
    }
    missing = [n for n in names if n not in found]
    if missing:
        raise InputError(
            f"no subscriber list {missing[0]!r}; create it with PUT /v1/lists/{missing[0]}",
            errors=[{"field": "audience.lists", "message": f"unknown list {n!r}"} for n in missing],
        )


def _rate_end(start: datetime, count: int, rate: float) -> datetime:
    return start + timedelta(seconds=max(count - 1, 0) / rate)


async def preview(
    conn: asyncpg.Connection,
    body: BroadcastIn,
    channels: list[ChannelKind],
    parts: Mapping[str, Mapping[str, Any]],
    settings: Settings,
    now: datetime,
    vault: Vault,
) -> dict[str, Any]:
    """The dry run: recipients per channel, SMS segments, cost in messages, a sample."""
    rows = await conn.fetch(
        AUDIENCE_COUNTS,
        *_audience_args(
            body.audience,
            channels,
            since=_member_since(settings, now),
            cursor=("", ""),
            limit=None,
            sealed=await sealed_candidates(
                conn, body.audience, channels, vault, since=_member_since(settings, now)
            ),
            opted_out=await opted_out_numbers(conn, vault),
        ),
    )
    per_channel = {r["channel"]: r["recipients"] - r["opted_out"] for r in rows}
    opted_out = sum(r["opted_out"] for r in rows)
    segments = count_segments(parts["sms"]["body"], _sign_name(settings)) if "sms" in parts else 0
    cost = {
        channel: count * (segments if channel == "sms" else 1)
        for channel, count in per_channel.items()
        if channel != "wap"
    }
    start = max(body.send_at or now, now)
    rate = settings.broadcasts.rate_per_second
    longest = max((c for ch, c in per_channel.items() if ch != "wap"), default=0)
    tz = settings.calendar.tz
    return {
        "dry_run": True,
        "channels": [c.value for c in channels],
        "recipients": per_channel,
        "total_recipients": sum(per_channel.values()),
        "skipped": {"opted_out": opted_out},
        "sms_segments": segments,
        "estimated_cost": {"messages": sum(cost.values()), "by_channel": cost},
        "send_at": start.astimezone(tz).isoformat(),
        # Before quiet hours and earlier broadcasts on the same channel, which can only delay it.
        "estimated_end": _rate_end(start, longest, rate).astimezone(tz).isoformat(),
        "rate_per_second": rate,
        "sample": {
            channel: {k: v for k, v in part.items() if v not in (None, {}, "")}
            for channel, part in parts.items()
        },
        "warnings": warnings_for(parts, settings),
    }


async def create(
    conn: asyncpg.Connection,
    body: BroadcastIn,
    channels: list[ChannelKind],
    context: Mapping[str, Any],
    parts: Mapping[str, Mapping[str, Any]],
    settings: Settings,
    *,
    now: datetime,
    actor: tuple[str, str],
) -> tuple[int, bool]:
    """Store the broadcast (once per ``key``); return its id and whether it is new."""
    cfg = settings.broadcasts
    send_at = max(body.send_at or now, now)
    async with conn.transaction():
        if body.key is not None:
            existing = await conn.fetchval(Q["broadcast_by_key"], body.key)
            if existing is not None:
                return int(existing), False
        push = [c.value for c in channels if c is not ChannelKind.WAP]
        tails = {
            r["channel"]: r["tail"] for r in await conn.fetch(Q["broadcast_channel_tails"], push)
        }
        step = timedelta(seconds=1 / cfg.rate_per_second)
        bases = {c: max(send_at, tails[c] + step) if c in tails else send_at for c in push}
        new_id = await conn.fetchval(
            Q["broadcast_insert"],
            body.key,
            body.title,
            body.model_dump(mode="json"),
            [c.value for c in channels],
            dict(parts),
            dict(context),
            send_at,
            {c: b.isoformat() for c, b in bases.items()},
            cfg.rate_per_second,
            cfg.priority,
            actor[1],
            now,
        )
        if new_id is None:  # the same key, posted at the same moment by a retry
            return int(await conn.fetchval(Q["broadcast_by_key"], body.key)), False
        await audit.record(
            conn,
            at=now,
            role=actor[0],
            actor=actor[1],
            action="broadcast.create",
            subject=f"broadcast:{new_id}",
            detail={"title": body.title, "audience": body.audience.model_dump()},
        )
    return int(new_id), True


async def _insert_page(
    conn: asyncpg.Connection,
    vault: Vault,
    broadcast: Mapping[str, Any],
    rows: list[asyncpg.Record],
    *,
    settings: Settings,
    now: datetime,
) -> int:
    """Write one page's outbox rows with each address, body and variables sealed.

    The dedupe key names the address by its blind index, never in clear.
    """
    if not rows:
        return 0
    renders: Mapping[str, Mapping[str, Any]] = broadcast["renders"]
    columns: list[list[Any]] = [[] for _ in range(11)]
    opted_out = [bool(row["opted_out"]) for row in rows]
    for row in rows:
        channel, recipient = row["channel"], row["recipient"]
        part = renders[channel]
        sealed = seal_message(
            vault,
            channel=channel,
            recipient=recipient,
            body=part["body"],
            html=part.get("html"),
            fallbacks=(),
            context=broadcast["context"],
            params=part.get("params") or {},
        )
        values = (
            f"broadcast:{broadcast['id']}:{channel}:{sealed.recipient_index.hex()}",
            channel,
            recipient if channel == ChannelKind.WAP.value else None,  # a person id
            sealed.sealed,
            sealed.recipient_index,
            sealed.context,
            part.get("subject"),
            part.get("link"),
            sealed.params,
            row["not_before"],
            content_hash(part.get("subject"), part["body"]),
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    done = await conn.fetch(
        Q["broadcast_insert_messages"],
        *columns,
        broadcast["id"],
        broadcast["priority"],
        settings.policy.max_attempts,
        now,
        opted_out,
    )
    return len(done)


async def expand(
    conn: asyncpg.Connection, broadcast_id: int, settings: Settings, now: datetime, vault: Vault
) -> int:
    """Turn the audience into outbox rows, a page per transaction; return the rows added.

    Resumable: the cursor and slot counters commit with each page, so calling this
    again after a crash goes on from the last page. A cancel stops it between pages.
    """
    cfg = settings.broadcasts
    quiet_from, quiet_to = _quiet(settings)
    total = 0
    sealed: tuple[list[str], list[str]] | None = None  # opened once, not once per page
    opted_out: list[str] | None = None
    while True:
        async with conn.transaction():
            b = await conn.fetchrow(Q["broadcast_lock"], broadcast_id)
            if b is None or b["status"] != "expanding":
                return total
            audience = AudienceIn.model_validate(b["request"]["audience"])
            channels = [ChannelKind(c) for c in b["channels"]]
            if sealed is None:
                since = _member_since(settings, b["created_at"])
                sealed = await sealed_candidates(conn, audience, channels, vault, since=since)
            if opted_out is None:
                opted_out = await opted_out_numbers(conn, vault)
            rows = await conn.fetch(
                SLOT_PAGE,
                *_audience_args(
                    audience,
                    channels,
                    since=_member_since(settings, b["created_at"]),
                    cursor=(b["cursor_channel"], b["cursor_recipient"]),
                    limit=cfg.batch_size,
                    sealed=sealed,
                    opted_out=opted_out,
                ),
                b["positions"],
                broadcast_id,
                b["context"],
                b["rate_per_second"],
                quiet_from,
                quiet_to,
                settings.calendar.timezone,
                b["bases"],
                b["priority"],
                b["send_at"],
                settings.policy.max_attempts,
                now,
                b["renders"],
            )
            inserted = await _insert_page(conn, vault, b, rows, settings=settings, now=now)
            done = len(rows) < cfg.batch_size
            await _advance(conn, b, rows, done=done, now=now)
            if inserted:
                await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(inserted))
            total += inserted
        if done:
            return total


async def _advance(
    conn: asyncpg.Connection,
    b: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    done: bool,
    now: datetime,
) -> None:
    """Commit the page's cursor and each channel's last slot with its rows (resumable)."""
    positions = dict(b["positions"] or {})
    for row in rows:
        positions[row["channel"]] = max(int(positions.get(row["channel"], 0)), row["slot"])
    await conn.execute(
        Q["broadcast_advance"],
        b["id"],
        rows[-1]["channel"] if rows else b["cursor_channel"],
        rows[-1]["recipient"] if rows else b["cursor_recipient"],
        positions,
        len(rows),
        done,
        now,
    )


async def progress(
    conn: asyncpg.Connection, broadcast_id: int, settings: Settings, now: datetime
) -> dict[str, Any] | None:
    """The broadcast as ``GET /v1/broadcasts/{id}`` shows it: counts, start, estimated end."""
    b = await conn.fetchrow(Q["broadcast_get"], broadcast_id)
    if b is None:
        return None
    rows = await conn.fetch(Q["broadcast_progress"], broadcast_id)
    by_channel = {
        r["channel"]: r["n"]
        for r in await conn.fetch(Q["broadcast_progress_by_channel"], broadcast_id)
    }
    counts = dict.fromkeys([*MessageStatus, "skipped"], 0)
    counts |= {r["state"]: r["n"] for r in rows}
    first_sent = min((r["first_sent"] for r in rows if r["first_sent"]), default=None)
    last_sent = max((r["last_sent"] for r in rows if r["last_sent"]), default=None)
    waiting = [r for r in rows if r["state"] in WAITING_STATUSES]
    remaining = sum(r["pushed"] for r in waiting)
    tz = settings.calendar.tz
    if waiting:
        planned = max(r["last_slot"] for r in waiting)
        # Behind schedule (a slow provider, a backlog): what is left at the configured rate.
        estimated_end: datetime | None = max(
            planned, _rate_end(now, remaining, b["rate_per_second"])
        )
    elif b["status"] == "expanding":
        estimated_end = None
    else:
        estimated_end = last_sent
    finished = not waiting and b["status"] != "expanding"

    def local(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    return {
        "id": b["id"],
        "key": b["request_key"],
        "title": b["title"],
        "status": "cancelled"
        if b["status"] == "cancelled"
        else ("expanding" if b["status"] == "expanding" else ("done" if finished else "sending")),
        "channels": list(b["channels"]),
        "audience": b["request"]["audience"],
        "recipients": b["recipients"],
        "by_channel": by_channel,
        "counts": counts,
        "send_at": local(b["send_at"]),
        "started_at": local(first_sent),
        "estimated_end": local(estimated_end),
        "finished_at": local(last_sent) if finished else None,
        "rate_per_second": b["rate_per_second"],
        "created_at": local(b["created_at"]),
        "cancelled_at": local(b["cancelled_at"]),
    }


async def cancel(
    conn: asyncpg.Connection,
    broadcast_id: int,
    settings: Settings,
    *,
    now: datetime,
    actor: tuple[str, str],
) -> dict[str, Any]:
    """Cancel every queued row in one statement (rows being sent finish); the progress after.

    Raises :class:`NotFound` for an unknown broadcast.
    """
    async with conn.transaction():
        b = await conn.fetchrow(Q["broadcast_lock"], broadcast_id)
        if b is None:
            raise NotFound(f"no broadcast {broadcast_id}")
        cancelled = 0
        if b["status"] != "cancelled":
            await conn.execute(Q["broadcast_cancel"], broadcast_id, now)
            status = await conn.execute(Q["broadcast_cancel_messages"], broadcast_id, now)
            cancelled = int(status.split()[-1])
            role, who = actor
            await audit.record(
                conn,
                at=now,
                role=role,
                actor=who,
                action="broadcast.cancel",
                subject=f"broadcast:{broadcast_id}",
                detail={"cancelled_rows": cancelled},
            )
    view = await progress(conn, broadcast_id, settings, now)
    assert view is not None  # locked above: it exists
    view["cancelled_now"] = cancelled
    return view


def list_addresses(body: ListIn) -> tuple[list[str], list[str]]:
    """The list's mobiles and e-mail addresses as stored; InputError naming each bad one."""
    mobiles = [mobile_digits(m) for m in body.mobiles]
    emails = [e.strip().lower() for e in body.emails]
    errors = [
        {"field": f"mobiles[{i}]", "message": "not a mainland mobile number"}
        for i, m in enumerate(mobiles)
        if not is_mobile(m)
    ] + [
        {"field": f"emails[{i}]", "message": "not an e-mail address"}
        for i, e in enumerate(emails)
        if not _EMAIL.match(e)
    ]
    if errors:
        raise InputError("some addresses are not valid; see errors", errors=errors[:100])
    return mobiles, emails


async def replace_list(
    conn: asyncpg.Connection,
    name: str,
    body: ListIn,
    settings: Settings,
    vault: Vault,
    *,
    now: datetime,
    actor: tuple[str, str],
) -> dict[str, Any]:
    """Replace a subscriber list's mobiles and e-mail addresses (stored sealed); its counts."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise InputError("a list name is 1–64 letters, digits, '_', '.' or '-'")
    mobiles, emails = list_addresses(body)
    # Each address once (the blind index tells duplicates apart), stored sealed.
    wanted = {
        address_index(vault, channel, address): (channel, address)
        for channel, addresses in (("sms", mobiles), ("email", emails))
        for address in addresses
    }
    channels = [channel for channel, _ in wanted.values()]
    sealed = [vault.seal(address, field=SUBSCRIBERS_ADDRESS) for _, address in wanted.values()]
    async with conn.transaction():
        await conn.execute(Q["list_upsert"], name, body.description, now)
        await conn.execute(Q["list_clear"], name)
        await conn.execute(Q["list_fill"], name, channels, sealed, now, list(wanted))
        role, who = actor
        await audit.record(
            conn,
            at=now,
            role=role,
            actor=who,
            action="list.put",
            subject=f"list:{name}",
            detail={"mobiles": len(mobiles), "emails": len(emails)},
        )
        row = await conn.fetchrow(Q["list_counts"], name)
    return list_view(row, settings)


async def get_list(conn: asyncpg.Connection, name: str, settings: Settings) -> dict[str, Any]:
    """A subscriber list's size (the addresses themselves are not echoed)."""
    row = await conn.fetchrow(Q["list_counts"], name)
    if row is None:
        raise NotFound(f"no subscriber list {name!r}")
    return list_view(row, settings)


def list_view(row: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    return {
        "name": row["name"],
        "description": row["description"],
        "mobiles": row["mobiles"],
        "emails": row["emails"],
        "updated_at": row["updated_at"].astimezone(settings.calendar.tz).isoformat(),
    }
