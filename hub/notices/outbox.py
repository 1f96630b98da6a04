"""Putting notices into the outbox, inside the caller's transaction.

A :class:`Notice` is what Cuiban wants one person to know; ``enqueue`` renders
it for the person's first reachable channel and stores it as a ``messages`` row
with the others as fallbacks. The row is written in the same transaction as
the state change that caused it, so a crash never loses a notice; the dedupe
key makes writing it twice harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from channels.render import compose
from core.notices import ChannelKind, NoticeKind, is_mandatory
from hub.notices.sealing import content_hash, opened, seal_message
from hub.privacy.fields import address_index
from hub.privacy.vault import Vault
from hub.store.queries import Q

NOTIFY_CHANNEL = "cuiban_outbox"


@dataclass(frozen=True, kw_only=True)
class Address:
    channel: ChannelKind
    recipient: str


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One notice for one person, before it is rendered for a channel."""

    kind: NoticeKind
    dedupe_key: str
    addresses: Sequence[Address]  # in the person's order of preference
    context: Mapping[str, Any]
    not_before: datetime
    case_no: str | None = None
    node_id: str | None = None
    person_id: str | None = None
    note: str | None = None
    priority: int = 0


def message_row(
    notice: Notice,
    address: Address,
    fallbacks: Sequence[Address],
    *,
    max_attempts: int,
    vault: Vault,
    indexes: dict[tuple[str, str], bytes] | None = None,
) -> tuple[Any, ...]:
    """The ``insert_messages`` parameters for ``notice`` rendered for ``address``, sealed.

    ``indexes`` remembers the recipients' blind indexes across the rows of one batch
    (reminders and digests often go to the same official).
    """
    rendered = compose(
        message_id="unsent",  # the row's id becomes the message id once stored
        kind=notice.kind,
        channel=address.channel,
        recipient=address.recipient,
        context=notice.context,
        person_id=notice.person_id,
        case_no=notice.case_no,
    )
    channel = address.channel.value
    index = None
    if indexes is not None:
        index = indexes.get((channel, address.recipient))
        if index is None:
            index = indexes[channel, address.recipient] = address_index(
                vault, channel, address.recipient
            )
    sealed = seal_message(
        vault,
        channel=channel,
        recipient=address.recipient,
        body=rendered.body,
        html=rendered.html,
        fallbacks=[{"channel": a.channel.value, "recipient": a.recipient} for a in fallbacks],
        context=notice.context,
        params=rendered.params,
        recipient_index=index,
    )
    return (
        f"{notice.dedupe_key}|{channel}",
        notice.kind.value,
        channel,
        notice.person_id,
        sealed.sealed,
        notice.case_no,
        notice.node_id,
        sealed.context,
        rendered.subject,
        rendered.link,
        sealed.params,
        is_mandatory(notice.kind),
        notice.note,
        notice.priority,
        notice.not_before,
        max_attempts,
        sealed.recipient_index,
        content_hash(rendered.subject, rendered.body),
    )


async def _insert(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]], now: datetime) -> int:
    """Store the rows (one statement); wake the workers on commit; how many were new."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    inserted = await conn.fetch(Q["insert_messages"], *columns, now)
    if inserted:
        # Delivered on commit: workers waiting on LISTEN wake for the new work.
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(len(inserted)))
    return len(inserted)


async def enqueue(
    conn: asyncpg.Connection,
    notices: Sequence[Notice],
    *,
    now: datetime,
    max_attempts: int,
    vault: Vault,
) -> int:
    """Store each notice (once, whatever retries happen); return how many rows are new.

    A notice for a person with no reachable address is skipped here; the caller
    decides whom to tell instead (the planner falls back to the WAP inbox).
    """
    indexes: dict[tuple[str, str], bytes] = {}
    rows = [
        message_row(
            n,
            n.addresses[0],
            n.addresses[1:],
            max_attempts=max_attempts,
            vault=vault,
            indexes=indexes,
        )
        for n in notices
        if n.addresses
    ]
    if not rows:
        return 0
    return await _insert(conn, rows, now)


async def fall_back(
    conn: asyncpg.Connection,
    message: Mapping[str, Any],
    *,
    now: datetime,
    reason: str,
    vault: Vault,
) -> int | None:
    """Queue ``message`` again on its next fallback channel; return the new row's id, if any.

    Called when a channel has failed for good for this person (dead letter, a
    permanent provider error, an undelivered SMS receipt). Optional notices are
    not chased across channels. ``message`` may be the row as stored or as opened.
    """
    message = opened(vault, message)
    fallbacks = list(message["fallbacks"])
    if not message["mandatory"] or not fallbacks:
        return None
    first, rest = fallbacks[0], fallbacks[1:]
    notice = Notice(
        kind=NoticeKind(message["kind"]),
        dedupe_key=message["dedupe_key"].rsplit("|", 1)[0],
        addresses=[Address(channel=ChannelKind(first["channel"]), recipient=first["recipient"])],
        context=message["context"],
        not_before=now,
        case_no=message["case_no"],
        node_id=message["node_id"],
        person_id=message["person_id"],
        note=f"fallback after {message['channel']} #{message['id']}: {reason}",
        priority=message["priority"],
    )
    row = message_row(
        notice,
        notice.addresses[0],
        [Address(channel=ChannelKind(a["channel"]), recipient=a["recipient"]) for a in rest],
        max_attempts=message["max_attempts"],
        vault=vault,
    )
    inserted = await conn.fetch(Q["insert_messages"], *([value] for value in row), now)
    if not inserted:
        return None
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, "1")
    new_id: int = inserted[0]["id"]
    return new_id
