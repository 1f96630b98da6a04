"""Signed WAP links: short enough for an SMS, bound to one case or person, expiring.

A token is ``base64url(kind | subject | expiry day) . base64url(HMAC-SHA256[:12])``
keyed with ``auth.link_secret``. The subject (case number or person id) is in
the token, so the link opens the page without a query code; the MAC makes it
unforgeable, and the expiry day bounds how long a forwarded SMS stays useful.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

LinkKind = Literal["c", "i"]  # c: a case page; i: a reviewer's inbox
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_MAC_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


@dataclass(frozen=True, kw_only=True)
class LinkSigner:
    secret: bytes
    lifetime: timedelta = timedelta(days=90)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(self, kind: LinkKind, subject: str, *, now: datetime) -> str:
        expiry_day = ((now + self.lifetime) - _EPOCH).days
        payload = f"{kind}|{subject}|{expiry_day}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, kind: LinkKind, token: str, *, now: datetime) -> str | None:
        """The subject of a valid, unexpired token of ``kind``; None for anything else."""
        try:
            encoded, mac = token.split(".")
            payload = _unb64(encoded)
            if not hmac.compare_digest(self._mac(payload), _unb64(mac)):
                return None
            got_kind, subject, expiry = payload.decode().split("|")
        except (ValueError, UnicodeDecodeError):
            return None
        if got_kind != kind or (now - _EPOCH).days > int(expiry):
            return None
        return subject
