"""Signed WAP links: short enough for an SMS, bound to one case or person, expiring.

A token is ``kind, expiry day, subject . base64url(HMAC-SHA256[:8])`` keyed with
``auth.link_secret``: 31 characters for a typical case number such as
NJ20260302-0042, so it fits a 35-character SMS template variable (Aliyun's
limit). A subject that is not URL-safe is carried as base64url instead, and
the kind letter is upper-case to say so.
The subject (case number or person id) is in the token, so the link opens the
page without a query code; the MAC makes it unforgeable, and the expiry day
bounds how long a forwarded SMS stays useful.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

LinkKind = Literal["c", "i"]  # c: a case page; i: a reviewer's inbox
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_MAC_BYTES = 8  # 64 bits: forging one takes 2**63 tries on average; rate limits do the rest
_URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
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
        expiry = _base36(((now + self.lifetime) - _EPOCH).days)
        if _URL_SAFE.match(subject):
            head, carried = kind + expiry, subject
        else:
            head, carried = kind.upper() + expiry, _b64(subject.encode())
        return f"{head}{carried}.{_b64(self._mac(head, subject.encode()))}"

    def verify(self, kind: LinkKind, token: str, *, now: datetime) -> str | None:
        """The subject of a valid, unexpired token of ``kind``; None for anything else."""
        try:
            body, mac = token.split(".")
            head, carried = body[:4], body[4:]
            if len(head) < 4 or not carried or head[0].lower() != kind:
                return None
            raw = _unb64(carried) if head[0].isupper() else carried.encode()
            # Compare the text, not decoded bytes: base64 ignores the spare bits of the
            # last character, and one token should have exactly one spelling.
            if not hmac.compare_digest(_b64(self._mac(head, raw)), mac):
                return None
            expiry = int(head[1:], 36)
            subject = raw.decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if (now - _EPOCH).days > expiry:
            return None
        return subject
