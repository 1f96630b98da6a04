"""Signed WAP links: short enough for an SMS, bound to one case or person, expiring.

A token is ``kind, expiry day, subject . base64url(HMAC-SHA256[:8])``, the MAC
keyed with the link kind's own key (:mod:`hub.signing`: ``case_link`` or
``inbox_link``): 31 characters for a typical case number such as
NJ20260302-0042, so it fits a 35-character SMS template variable (Aliyun's
limit). A subject that is not URL-safe is carried as base64url instead, and
the kind letter is upper-case to say so.
The subject (case number or person id) is in the token, so the link opens the
page without a query code; the MAC makes it unforgeable, and the expiry day
bounds how long a forwarded SMS stays useful.

No link lives longer than :data:`MAX_LIFETIME`, whatever ``auth.link_days``
says: a token whose expiry lies further out is refused even with a good MAC
(issue 13's forgery carried an expiry in the year 2122).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from hub.signing import Keyring, Purpose, b64, unb64

LinkKind = Literal["c", "i"]  # c: a case page; i: a reviewer's inbox
_PURPOSE: dict[str, Purpose] = {"c": "case_link", "i": "inbox_link"}
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_MAC_BYTES = 8  # 64 bits: forging one takes 2**63 tries on average; rate limits do the rest
_URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
_EXPIRY = re.compile(r"^[0-9a-z]{3}$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

#: A link token wherever it appears in text (a message body, a logged path): the head
#: (kind letter and 3 base-36 expiry digits), the subject, a dot and the 11-character MAC.
TOKEN_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9_-])[ciCI][0-9a-z]{3}[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{11}(?![A-Za-z0-9_-])"
)

#: The longest a link can work. A case runs its statutory course within about two months
#: (Art. 42: 20 + 10 working days; Art. 44: 10 more to issue the permit; suspensions on
#: top), and every SMS about it carries a fresh link, so 90 days covers the gap between
#: two SMS with room to spare while bounding what a lost or forwarded phone gives away.
MAX_LIFETIME = timedelta(days=90)


def _base36(value: int, width: int = 3) -> str:
    digits = ""
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits = _DIGITS[digit] + digits
    return digits


@dataclass(frozen=True, kw_only=True)
class LinkSigner:
    keys: Keyring
    lifetime: timedelta = MAX_LIFETIME

    def _mac(self, head: str, subject: bytes) -> bytes:
        purpose = _PURPOSE[head[0].lower()]
        return self.keys.mac(purpose, head.encode() + b"|" + subject)[:_MAC_BYTES]

    def sign(self, kind: LinkKind, subject: str, *, now: datetime) -> str:
        """``kind`` + expiry day (3 base-36 digits) + the subject, then the MAC."""
        lifetime = min(self.lifetime, MAX_LIFETIME)
        expiry = _base36(((now + lifetime) - _EPOCH).days)
        if _URL_SAFE.match(subject):
            head, carried = kind + expiry, subject
        else:
            head, carried = kind.upper() + expiry, b64(subject.encode())
        return f"{head}{carried}.{b64(self._mac(head, subject.encode()))}"

    def verify(self, kind: LinkKind, token: str, *, now: datetime) -> str | None:
        """The subject of a valid, unexpired token of ``kind``; None for anything else."""
        try:
            body, mac = token.split(".")
            head, carried = body[:4], body[4:]
            if len(head) < 4 or not carried or head[0].lower() != kind:
                return None
            if not _EXPIRY.match(head[1:]):
                return None
            raw = unb64(carried) if head[0].isupper() else carried.encode()
            # Compare the text, not decoded bytes: base64 ignores the spare bits of the
            # last character, and one token should have exactly one spelling.
            if not hmac.compare_digest(b64(self._mac(head, raw)).encode(), mac.encode()):
                return None
            expiry = int(head[1:], 36)
            subject = raw.decode()
        except (ValueError, UnicodeDecodeError):
            return None
        today = (now - _EPOCH).days
        if today > expiry or expiry - today > MAX_LIFETIME.days + 1:
            return None
        return subject
