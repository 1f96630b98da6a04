"""The personal parts of a ``messages`` row: sealed as one value as it is written, opened to send.

What a message says and to whom is personal data (issue 19, decision 0016): the
recipient, the body (and an e-mail's HTML), the fallback addresses, and the few
template variables that hold a secret or a person's own words (:data:`PERSONAL_KEYS`:
a sign-in code, a query code, a complaint, a rating comment...). They are sealed
together, one SM4-GCM value in ``messages.sealed`` (a JSON object, field
``messages.sealed``): one seal per row instead of four, because a seal's cost is
mostly per call, and every reader wants recipient and words together anyway. The
personal variables leave ``context`` and ``params`` for it; the rest of the context
(case numbers, merged references, project digests' sequence) stays plain, so the
dispatcher's re-check and supervision's SQL keep reading it. Status, kind, channel
and every timestamp stay plain: the message log stays countable without the key.

``recipient_index`` (HMAC-SM3 of the normalised address,
:func:`hub.privacy.fields.address_index`) is what every lookup by recipient compares.

Older rows open too (:func:`opened`, :func:`parts`): rows of migration 0029 hold
recipient, body, html, fallbacks and personal sealed one column each, rows from before
it hold them in clear; both keep ``sealed`` NULL. :func:`opened` may also be given a
row it opened before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub.privacy.fields import (
    MESSAGES_BODY,
    MESSAGES_FALLBACKS,
    MESSAGES_HTML,
    MESSAGES_PERSONAL,
    MESSAGES_RECIPIENT,
    MESSAGES_SEALED,
    address_index,
    reveal,
)
from hub.privacy.vault import Vault

#: Template variables that hold a secret or a person's data: sealed, never stored plain.
PERSONAL_KEYS = frozenset(
    {"code", "query_code", "content", "comment", "reply", "applicant", "mobile", "email"}
)


def _json(value: object) -> str:
    # Cast to jsonb in SQL, so only the value counts: orjson (decision 0017), datetimes as
    # str() spells them like the standard library; what orjson refuses (a key that is not
    # a string, an integer beyond 64 bits) goes through the standard library.
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(subject: str | None, body: str) -> bytes:
    """SHA-256 of subject and body as sent (decision 0007): fixed when the row is written."""
    return hashlib.sha256(f"{subject or ''}\n{body}".encode()).digest()


@dataclass(frozen=True, kw_only=True, slots=True)
class SealedMessage:
    """A message's columns as stored: the sealed parts, the index, JSON text for jsonb."""

    sealed: str
    recipient_index: bytes
    context: str
    params: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageParts:
    """A message's personal parts in clear, the personal variables apart from the plain ones."""

    recipient: str | None
    body: str | None
    html: str | None = None
    fallbacks: list[dict[str, str]] = field(default_factory=list)
    personal_context: dict[str, Any] = field(default_factory=dict)
    personal_params: dict[str, Any] = field(default_factory=dict)


def _split(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain: dict[str, Any] = {}
    personal: dict[str, Any] = {}
    for key, value in values.items():
        (personal if key in PERSONAL_KEYS else plain)[key] = value
    return plain, personal


def seal_parts(vault: Vault, message: MessageParts) -> str:
    """The ``sealed`` column of a message: its parts as one JSON object, one SM4-GCM seal.

    Absent parts are left out (no HTML, no fallbacks, no personal variables), so a short
    SMS seals little more than its number and words.
    """
    bundle: dict[str, Any] = {"recipient": message.recipient, "body": message.body}
    if message.html is not None:
        bundle["html"] = message.html
    if message.fallbacks:
        bundle["fallbacks"] = message.fallbacks
    if message.personal_context:
        bundle["context"] = message.personal_context
    if message.personal_params:
        bundle["params"] = message.personal_params
    return vault.seal(_json(bundle), field=MESSAGES_SEALED)


def seal_message(
    vault: Vault,
    *,
    channel: str,
    recipient: str,
    body: str,
    html: str | None,
    fallbacks: Sequence[Mapping[str, str]],
    context: Mapping[str, Any],
    params: Mapping[str, Any],
    recipient_index: bytes | None = None,
) -> SealedMessage:
    """The stored form of one message: one seal, and the recipient's blind index.

    ``recipient_index`` may be given when the caller computed it already (a batch with
    several messages to one address computes it once).
    """
    plain_context, personal_context = _split(context)
    plain_params, personal_params = _split(params)
    parts = MessageParts(
        recipient=recipient,
        body=body,
        html=html,
        fallbacks=[dict(f) for f in fallbacks],
        personal_context=personal_context,
        personal_params=personal_params,
    )
    return SealedMessage(
        sealed=seal_parts(vault, parts),
        recipient_index=(
            recipient_index
            if recipient_index is not None
            else address_index(vault, channel, recipient)
        ),
        context=_json(plain_context),
        params=_json(plain_params),
    )


def seal_rendering(
    vault: Vault,
    stored: Mapping[str, Any],
    *,
    body: str,
    html: str | None,
    context: Mapping[str, Any],
    params: Mapping[str, Any],
) -> tuple[str, str, str]:
    """``sealed``, context and params of a message rendered again (the send-time re-check).

    ``stored`` is the row as read (either form): its recipient and fallbacks are sealed
    again with the new words, so the rewritten row holds one sealed value like a new one.
    """
    was = parts(vault, stored)
    plain_context, personal_context = _split(context)
    plain_params, personal_params = _split(params)
    sealed = seal_parts(
        vault,
        MessageParts(
            recipient=was.recipient,
            body=body,
            html=html,
            fallbacks=was.fallbacks,
            personal_context=personal_context,
            personal_params=personal_params,
        ),
    )
    return sealed, _json(plain_context), _json(plain_params)


def _decoded(value: Any) -> Any:
    """A jsonb value read without the pool's codec arrives as JSON text: decoded here."""
    if isinstance(value, str) and not Vault.is_sealed(value):
        return json.loads(value)
    return value


def parts(vault: Vault, row: Mapping[str, Any]) -> MessageParts:
    """The personal parts of a stored row in clear, whichever form it was written in.

    One SM4-GCM call for a row with ``sealed``; a row of migration 0029 opens its
    columns one by one; a clear row passes through. Raises
    :class:`~hub.privacy.vault.SealedValueError` for a value no configured key opens.
    """
    sealed = row.get("sealed")
    if isinstance(sealed, str):
        bundle = json.loads(reveal(vault, sealed, field=MESSAGES_SEALED))
        return MessageParts(
            recipient=bundle.get("recipient"),
            body=bundle.get("body"),
            html=bundle.get("html"),
            fallbacks=bundle.get("fallbacks", []),
            personal_context=bundle.get("context", {}),
            personal_params=bundle.get("params", {}),
        )
    recipient, body, html = row.get("recipient"), row.get("body"), row.get("html")
    fallbacks = _decoded(row.get("fallbacks")) or []
    if isinstance(fallbacks, str):
        fallbacks = json.loads(reveal(vault, fallbacks, field=MESSAGES_FALLBACKS))
    personal: dict[str, Any] = {}
    if isinstance(row.get("personal"), str):
        personal = json.loads(vault.open(row["personal"], field=MESSAGES_PERSONAL))
    return MessageParts(
        recipient=None if recipient is None else reveal(vault, recipient, field=MESSAGES_RECIPIENT),
        body=None if body is None else reveal(vault, body, field=MESSAGES_BODY),
        html=None if html is None else reveal(vault, html, field=MESSAGES_HTML),
        fallbacks=list(fallbacks),
        personal_context=personal.get("context", {}),
        personal_params=personal.get("params", {}),
    )


def recipient_of(vault: Vault, row: Mapping[str, Any]) -> str:
    """The clear recipient of a stored row (either form); '' when it holds none."""
    return parts(vault, row).recipient or ""


def opened(vault: Vault, row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with its personal parts in clear, the personal variables back in place.

    ``recipient``, ``body``, ``html`` and ``fallbacks`` are filled from a ``sealed`` value
    even where the query did not select those columns; ``sealed`` and ``personal`` read
    None afterwards, so opening an opened row changes nothing.
    """
    out = dict(row)
    for name in ("context", "params", "fallbacks"):
        if name in out:
            out[name] = _decoded(out[name])
    whole = isinstance(out.get("sealed"), str)
    clear = parts(vault, out)
    for name in ("recipient", "body", "html", "fallbacks"):
        if whole or name in out:
            out[name] = getattr(clear, name)
    if "context" in out and clear.personal_context:
        out["context"] = dict(out["context"] or {}) | clear.personal_context
    if "params" in out and clear.personal_params:
        out["params"] = dict(out["params"] or {}) | clear.personal_params
    for name in ("sealed", "personal"):
        if name in out:
            out[name] = None
    return out
