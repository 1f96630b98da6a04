"""``GET /v1/messages``: the message log — every notice, its status, attempts and body."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from core.notices import ChannelKind, NoticeKind
from hub.auth import allow
from hub.keys import POOL, SETTINGS
from hub.problems import Problem
from hub.queries import Q
from hub.views import local

__all__ = ["STATUSES", "message_json", "routes"]

routes = web.RouteTableDef()

STATUSES = ("queued", "sending", "sent", "delivered", "failed", "dead", "cancelled")
MAX_PAGE = 500
_FILTERS = ("case_no", "recipient", "kind", "status", "person_id", "channel")


def _cursor_encode(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"m:{message_id}".encode()).decode().rstrip("=")


def _cursor_decode(cursor: str) -> int:
    try:
        padded = cursor.encode() + b"=" * (-len(cursor) % 4)
        text = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
        prefix, _, number = text.partition(":")
        if prefix != "m" or not number.isdigit() or len(number) > 18:
            raise ValueError(text)
        return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Problem(
            422,
            "cursor is not one this API gave out",
            errors=[{"field": "cursor", "message": "invalid"}],
        ) from None


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


def _respond(body: Any) -> web.Response:
    return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))


@routes.get("/v1/messages")
@allow("supervisor")
async def list_messages(request: web.Request) -> web.Response:
    """The message log, oldest first, filtered by any of ``_FILTERS``; keyset-paginated."""
    q = request.query
    errors: list[dict[str, str]] = []
    values: dict[str, str | None] = {name: (q.get(name) or None) for name in _FILTERS}
    for name, value in values.items():
        if value is not None and len(value) > 256:
            errors.append({"field": name, "message": "must be at most 256 characters"})
    checks = {
        "kind": [k.value for k in NoticeKind],
        "status": list(STATUSES),
        "channel": [c.value for c in ChannelKind],
    }
    for name, allowed in checks.items():
        value = values[name]
        if value is not None and value not in allowed:
            errors.append({"field": name, "message": "must be one of: " + ", ".join(allowed)})
    try:
        limit = int(q.get("limit", "50"))
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError
    except ValueError:
        errors.append({"field": "limit", "message": f"must be an integer from 1 to {MAX_PAGE}"})
        limit = 50
    if errors:
        raise Problem(422, "invalid query parameters; see errors", errors=errors)
    after = _cursor_decode(q["cursor"]) if q.get("cursor") else 0

    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(
            Q["messages_list"],
            values["case_no"],
            values["recipient"],
            values["kind"],
            values["status"],
            values["person_id"],
            values["channel"],
            after,
            limit + 1,
        )
        page = rows[:limit]
        attempt_rows = await conn.fetch(Q["message_attempts_for"], [r["id"] for r in page])
    tz = request.app[SETTINGS].calendar.tz
    by_message: dict[int, list[dict[str, Any]]] = {}
    for a in attempt_rows:
        by_message.setdefault(a["message_id"], []).append(_attempt_json(a, tz))
    return _respond(
        {
            "items": [message_json(r, tz, by_message.get(r["id"])) for r in page],
            "next_cursor": _cursor_encode(page[-1]["id"]) if len(rows) > limit else None,
        }
    )
