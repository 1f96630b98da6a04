"""The personal fields of a ``messages`` row: sealed as it is written, opened to send or show.

What a message says and to whom is personal data (issue 19, decision 0016): the
recipient, the body (and an e-mail's HTML), the fallback addresses, and the few
template variables that hold a secret or a person's own words (:data:`PERSONAL_KEYS`:
a sign-in code, a query code, a complaint, a rating comment...). Those variables
leave ``context`` and ``params`` for one sealed ``personal`` value; the rest of the
context (case numbers, merged references, project digests' sequence) stays plain,
so the dispatcher's re-check and supervision's SQL keep reading it. Status, kind,
channel and every timestamp stay plain: the message log stays countable without
the key.

``recipient_index`` (HMAC-SM3 of the normalised address,
:func:`hub.privacy.fields.address_index`) is what every lookup by recipient compares.
Rows written before sealing (clear values, no index) open as they are: :func:`opened`
passes them through, so it may also be given a row it opened before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hub.privacy.fields import (
    MESSAGES_BODY,
    MESSAGES_FALLBACKS,
    MESSAGES_HTML,
    MESSAGES_PERSONAL,
    MESSAGES_RECIPIENT,
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
    """A message's columns as stored: sealed text, JSON text for the jsonb columns."""

    recipient: str
    recipient_index: bytes
    body: str
    html: str | None
    fallbacks: str
    context: str
    params: str
    personal: str | None


def _split(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain = {k: v for k, v in values.items() if k not in PERSONAL_KEYS}
    return plain, {k: v for k, v in values.items() if k in PERSONAL_KEYS}


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
) -> SealedMessage:
    """The stored form of one message (one seal per field that is there, none for '[]')."""
    plain_context, personal_context = _split(context)
    plain_params, personal_params = _split(params)
    personal: dict[str, Any] = {}
    if personal_context:
        personal["context"] = personal_context
    if personal_params:
        personal["params"] = personal_params
    return SealedMessage(
        recipient=vault.seal(recipient, field=MESSAGES_RECIPIENT),
        recipient_index=address_index(vault, channel, recipient),
        body=vault.seal(body, field=MESSAGES_BODY),
        html=vault.seal_optional(html, field=MESSAGES_HTML),
        fallbacks=(
            _json(vault.seal(_json(list(fallbacks)), field=MESSAGES_FALLBACKS))
            if fallbacks
            else "[]"
        ),
        context=_json(plain_context),
        params=_json(plain_params),
        personal=vault.seal(_json(personal), field=MESSAGES_PERSONAL) if personal else None,
    )


def seal_rendering(
    vault: Vault,
    *,
    body: str,
    html: str | None,
    context: Mapping[str, Any],
    params: Mapping[str, Any],
) -> tuple[str, str | None, str, str, str | None]:
    """Body, html, context, params and personal of a message rendered again (the re-check)."""
    sealed = seal_message(
        vault,
        channel="",
        recipient="",
        body=body,
        html=html,
        fallbacks=(),
        context=context,
        params=params,
    )
    return sealed.body, sealed.html, sealed.context, sealed.params, sealed.personal


def _decoded(value: Any) -> Any:
    """A jsonb value read without the pool's codec arrives as JSON text: decoded here."""
    if isinstance(value, str) and not Vault.is_sealed(value):
        return json.loads(value)
    return value


def opened(vault: Vault, row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with its personal fields in clear, the personal variables back in place."""
    out = dict(row)
    for name in ("fallbacks", "context", "params"):
        if name in out:
            out[name] = _decoded(out[name])
    if "recipient" in out and out["recipient"] is not None:
        out["recipient"] = reveal(vault, out["recipient"], field=MESSAGES_RECIPIENT)
    if "body" in out and out["body"] is not None:
        out["body"] = reveal(vault, out["body"], field=MESSAGES_BODY)
    if out.get("html") is not None:
        out["html"] = reveal(vault, out["html"], field=MESSAGES_HTML)
    fallbacks = out.get("fallbacks")
    if isinstance(fallbacks, str):
        out["fallbacks"] = json.loads(reveal(vault, fallbacks, field=MESSAGES_FALLBACKS))
    personal = out.get("personal")
    if isinstance(personal, str):
        values = json.loads(vault.open(personal, field=MESSAGES_PERSONAL))
        if "context" in out:
            out["context"] = dict(out["context"] or {}) | values.get("context", {})
        if "params" in out:
            out["params"] = dict(out["params"] or {}) | values.get("params", {})
        out["personal"] = None
    return out
