"""Signed WAP links: short enough for an SMS, bound to one case or person, expiring.

A token is ``kind, expiry day, base64url(subject) . base64url(HMAC-SHA256[:9])``
keyed with ``auth.link_secret``: about 37 characters for a typical case number.
The subject (case number or person id) is in the token, so the link opens the
page without a query code; the MAC makes it unforgeable, and the expiry day
bounds how long a forwarded SMS stays useful.
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
_MAC_BYTES = 9  # 72 bits: forging one takes 2**71 tries on average; rate limits do the rest
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _base36(value: int, width: int = 3) -> str:
    digits = ""
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits = _DIGITS[digit] + digits
    return digits


@dataclass(frozen=True, kw_only=True)
class LinkSigner:
    secret: bytes
    lifetime: timedelta = timedelta(days=90)

    def _mac(self, head: str, subject: bytes) -> bytes:
        digest = hmac.new(self.secret, head.encode() + b"|" + subject, hashlib.sha256).digest()
        return digest[:_MAC_BYTES]

    def sign(self, kind: LinkKind, subject: str, *, now: datetime) -> str:
        """``kind`` + expiry day (3 base-36 digits) + the subject, then the MAC."""
        head = kind + _base36(((now + self.lifetime) - _EPOCH).days)
        raw = subject.encode()
        return f"{head}{_b64(raw)}.{_b64(self._mac(head, raw))}"

    def verify(self, kind: LinkKind, token: str, *, now: datetime) -> str | None:
        """The subject of a valid, unexpired token of ``kind``; None for anything else."""
        try:
            body, mac = token.split(".")
            head, raw = body[:4], _unb64(body[4:])
            if len(head) < 4 or not hmac.compare_digest(self._mac(head, raw), _unb64(mac)):
                return None
            expiry = int(head[1:], 36)
            subject = raw.decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if head[0] != kind or (now - _EPOCH).days > expiry:
            return None
        return subject
