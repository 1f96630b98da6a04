"""``GET /v1/messages``: the message log — every notice, its status, attempts and body.

Only admin keys read the log as stored. For every other role (supervisors) a
body that could sign someone in is redacted (:func:`redacted`): the whole body
of a verification code or an acceptance notice (its query code), and every
signed link token in any other body; the ``link`` field is dropped; mobile
numbers are masked, the ``recipient`` included.

Every page that shows messages is one ``messages.read`` row of the access log
(:func:`hub.privacy.access.record_messages_read`): who, when, the filters, and the
cases and departments of the messages shown — one row per request, not per message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from core.notices import ChannelKind, MessageStatus, NoticeKind
from hub.api import paging
from hub.api.auth import ACTOR_KEY, ROLE_KEY, allow
from hub.api.jsonio import respond
from hub.api.views import local
from hub.keys import CLOCK, POOL, SETTINGS, VAULT
from hub.notices.links import TOKEN_IN_TEXT
from hub.notices.sealing import opened
from hub.notices.words import mask_address, mask_mobiles_in
from hub.privacy.access import record_messages_read
from hub.privacy.fields import address_lookup
from hub.privacy.vault import Vault
from hub.store.queries import Q

__all__ = ["REDACTED", "STATUSES", "message_json", "redacted", "routes"]

routes = web.RouteTableDef()

STATUSES = tuple(MessageStatus)
MAX_PAGE = 500
_FILTERS = ("case_no", "recipient", "kind", "status", "person_id", "channel")


def _attempt_json(row: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    return {
        "attempt": row["attempt"],
        "owner": row["owner"],
        "provider": row["provider"],
        "started_at": local(row["started_at"], tz),
        "finished_at": local(row["finished_at"], tz),
        "outcome": row["outcome"],
        "error": row["error"],
        "error_code": row["error_code"],
        "provider_message_id": row["provider_message_id"],
    }


def message_json(
    row: Mapping[str, Any], tz: ZoneInfo, attempts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One message as the log shows it (contract fields first)."""
    return {
        "id": row["id"],
        "case_no": row["case_no"],
        "node_id": row["node_id"],
        "kind": row["kind"],
        "channel": row["channel"],
        "person_id": row["person_id"],
        "recipient": row["recipient"],
        "status": row["status"],
        "attempts": row["attempts"],
        "provider_message_id": row["provider_message_id"],
        "error": row["error"],
        "created_at": local(row["created_at"], tz),
        "sent_at": local(row["sent_at"], tz),
        "delivered_at": local(row["delivered_at"], tz),
        "body": row["body"],
        "subject": row["subject"],
        "link": row["link"],
        "note": row["note"],
        "mandatory": row["mandatory"],
        "priority": row["priority"],
        "not_before": local(row["not_before"], tz),
        "max_attempts": row["max_attempts"],
        "provider": row["provider"],
        "error_code": row["error_code"],
        "read_at": local(row["read_at"], tz),
        "attempt_log": attempts or [],
    }


def _as_stored(item: dict[str, Any]) -> dict[str, Any]:
    return item


#: Kinds whose text carries a secret a person signs in with: the SMS code, the query code.
SECRET_KINDS = frozenset({NoticeKind.VERIFICATION_CODE.value, NoticeKind.CASE_ACCEPTED.value})
REDACTED = "［已隐去：含验证码、查询码或链接，仅管理员可见］"
_LINK_REDACTED = "***"
_SIGNED_PATH = re.compile(r"/wap/(?:c|inbox)/[A-Za-z0-9_.%-]+")


def _scrub(text: str | None) -> str | None:
    """Signed links cut to ``***`` and mobiles masked, the rest of the text kept."""
    if text is None:
        return None
    text = _SIGNED_PATH.sub(lambda m: m.group().rsplit("/", 1)[0] + "/" + _LINK_REDACTED, text)
    return mask_mobiles_in(TOKEN_IN_TEXT.sub(_LINK_REDACTED, text))


def redacted(item: dict[str, Any]) -> dict[str, Any]:
    """One message as a non-admin role sees it: nothing that signs anyone in, masked mobiles."""
    out = dict(item)
    out["body"] = (
        REDACTED if item["kind"] in SECRET_KINDS and item["body"] else _scrub(item["body"])
    )
    out["subject"] = _scrub(item["subject"])
    out["link"] = None
    out["note"] = _scrub(item["note"])
    out["error"] = _scrub(item["error"])
    out["recipient"] = mask_address(item["channel"], item["recipient"])
    out["attempt_log"] = [a | {"error": _scrub(a["error"])} for a in item["attempt_log"]]
    return out


def _recipient_indexes(
    vault: Vault, recipient: str | None, channel: str | None
) -> list[bytes] | None:
    """The blind indexes ``recipient=`` may mean: as a mobile and as any other address,
    under every configured key (a rotation may be half way)."""
    if recipient is None:
        return None
    channels = [channel] if channel else ["sms", "email"]
    return sorted({index for c in channels for index in address_lookup(vault, c, recipient)})


def _asked(values: Mapping[str, str | None]) -> dict[str, str]:
    """The filters of a read for the access log, the recipient masked (the trail keeps no
    full address)."""
    asked = {name: value for name, value in values.items() if value is not None}
    if recipient := asked.get("recipient"):
        channel = asked.get("channel") or ("email" if "@" in recipient else "sms")
        asked["recipient"] = mask_address(channel, recipient) or ""
    return asked


@routes.get("/v1/messages")
@allow("supervisor")
async def list_messages(request: web.Request) -> web.Response:
    """The message log, oldest first, filtered by any of ``_FILTERS``; keyset-paginated."""
    q = request.query
    errors: paging.Errors = []
    values: dict[str, str | None] = {name: (q.get(name) or None) for name in _FILTERS}
    for name, value in values.items():
        if value is not None and len(value) > 256:
            errors.append({"field": name, "message": "must be at most 256 characters"})
    paging.choice(q, "kind", [k.value for k in NoticeKind], errors)
    paging.choice(q, "status", list(STATUSES), errors)
    paging.choice(q, "channel", [c.value for c in ChannelKind], errors)
    limit = paging.page_size(q, errors, maximum=MAX_PAGE)
    paging.check(errors)
    after = paging.decode_id_cursor("m", q["cursor"]) if q.get("cursor") else 0
    vault = request.app[VAULT]
    recipient = values["recipient"]

    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(
            Q["messages_list"],
            values["case_no"],
            _recipient_indexes(vault, recipient, values["channel"]),
            values["kind"],
            values["status"],
            values["person_id"],
            values["channel"],
            after,
            limit + 1,
            recipient,
        )
        # Opened only to be shown: recipients and bodies are sealed at rest (issue 19).
        shown = [opened(vault, r) for r in rows]
        attempt_rows = await conn.fetch(Q["message_attempts_for"], [r["id"] for r in shown[:limit]])
        await record_messages_read(
            conn,
            at=request.app[CLOCK].now(),
            role=request[ROLE_KEY],
            actor=request[ACTOR_KEY],
            subject=values["case_no"] or "messages",
            asked=_asked(values),
            shown=shown[:limit],
        )
    tz = request.app[SETTINGS].calendar.tz
    view = _as_stored if request[ROLE_KEY] == "admin" else redacted
    by_message: dict[int, list[dict[str, Any]]] = {}
    for a in attempt_rows:
        by_message.setdefault(a["message_id"], []).append(_attempt_json(a, tz))
    return respond(
        paging.items_page(
            shown,
            limit,
            lambda r: view(message_json(r, tz, by_message.get(r["id"]))),
            prefix="m",
            key=lambda r: r["id"],
        )
    )
