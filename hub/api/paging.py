"""Query parameters of list endpoints: page sizes, choices, opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from hub.api.problems import Problem

Errors = list[dict[str, Any]]
Row = TypeVar("Row")


def page_size(
    query: Mapping[str, str], errors: Errors, *, default: int = 50, maximum: int = 500
) -> int:
    """``limit`` from 1 to ``maximum``; a bad value is added to ``errors``."""
    try:
        limit = int(query.get("limit", str(default)))
        if 1 <= limit <= maximum:
            return limit
    except ValueError:
        pass
    errors.append({"field": "limit", "message": f"must be an integer from 1 to {maximum}"})
    return default


def choice(
    query: Mapping[str, str], name: str, allowed: Collection[str], errors: Errors
) -> str | None:
    """An optional parameter that must be one of ``allowed``."""
    value = query.get(name) or None
    if value is not None and value not in allowed:
        errors.append({"field": name, "message": "must be one of: " + ", ".join(allowed)})
    return value


def check(errors: Errors) -> None:
    if errors:
        raise Problem(422, "invalid query parameters; see errors", errors=errors)


def items_page(
    rows: Sequence[Row],
    limit: int,
    view: Callable[[Row], dict[str, Any]],
    *,
    prefix: str,
    key: Callable[[Row], str | int],
) -> dict[str, Any]:
    """A list answer: the first ``limit`` rows as ``view`` shows them, and the cursor of the
    next page when there is one (the caller fetched ``limit + 1`` rows to know)."""
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    return {
        "items": [view(row) for row in page],
        "next_cursor": encode_cursor(prefix, key(page[-1])) if more else None,
    }


def encode_cursor(prefix: str, key: str | int) -> str:
    """An opaque cursor: clients pass it back, never build it."""
    return base64.urlsafe_b64encode(f"{prefix}:{key}".encode()).decode().rstrip("=")


def decode_cursor(prefix: str, cursor: str) -> str:
    """The key inside a cursor this API gave out, else a 422 naming ``cursor``."""
    try:
        padded = cursor.encode() + b"=" * (-len(cursor) % 4)
        text = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
        got, sep, key = text.partition(":")
        if got != prefix or not sep:
            raise ValueError(text)
        return key
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Problem(
            422,
            "cursor is not one this API gave out",
            errors=[{"field": "cursor", "message": "invalid"}],
        ) from None


def decode_id_cursor(prefix: str, cursor: str) -> int:
    key = decode_cursor(prefix, cursor)
    if not key.isdigit() or len(key) > 18:
        decode_cursor(prefix, "")  # the same 422 as any forged cursor
    return int(key)
