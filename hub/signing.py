"""One key per purpose: everything Cuiban signs or keys with a MAC has its own key.

Each key is derived from ``auth.link_secret`` with HKDF-SHA256 (RFC 5869), the
purpose's name as HKDF's ``info``. With a single key for everything, two formats
whose MAC inputs coincide can be swapped: issue 13 opened a case page with a
``/wap/`` form token that way. With a key per purpose a MAC of one kind is worth
nothing as any other, whatever its inputs (docs/decisions/0012-one-key-per-purpose.md).

What uses which purpose:

============================  ============================================================
``case_link``, ``inbox_link``  the signed ``/wap/c/…`` and ``/wap/inbox/…`` links
``wap_form``                   ``/wap/`` form tokens (CSRF), bound to the browser's cookie
``wap_session``                the stored MAC of a mobile-number login's session id
``sms_login``, ``sms_code``    the stored MACs of a verification flow's handle and code
``supervise_session``          the stored MAC of a ``/supervise/`` session id
``supervise_form``             ``/supervise/`` form tokens, bound to the session
``key_fingerprint``            which API key opened a ``/supervise/`` session
``client``, ``case``           rate-limit keys: a client address, a typed case number
============================  ============================================================

Webhook signatures are not derived here: the contract fixes them as HMAC-SHA256
with ``webhooks.secret``, which the receiving system holds too
(:func:`webhook_signature`). Start-up refuses that secret when it equals another
one (:mod:`hub.secret_policy`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Purpose = Literal[
    "case_link",
    "inbox_link",
    "wap_form",
    "wap_session",
    "sms_login",
    "sms_code",
    "supervise_session",
    "supervise_form",
    "key_fingerprint",
    "client",
    "case",
]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)

# Versioned so that a future change of derivation gives new keys, not clashing ones.
_INFO_PREFIX = b"cuiban/v1/"
_KEY_BYTES = 32
#: Shortest MAC any format may carry (a link's 8 bytes); a shorter offer is refused outright.
MIN_MAC_BYTES = 8


def derive_key(secret: bytes, purpose: Purpose) -> bytes:
    """HKDF-SHA256 of ``secret`` for one purpose (no salt: the secret is checked for length)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_BYTES,
        salt=None,
        info=_INFO_PREFIX + purpose.encode(),
    )
    return hkdf.derive(secret)


def b64(data: bytes) -> str:
    """base64url without padding: the spelling every token uses."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """The inverse of :func:`b64`; ``ValueError`` for anything else."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


@dataclass(frozen=True)
class Keyring:
    """The derived keys, one per :data:`Purpose`; built once at start-up."""

    keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def from_secret(cls, secret: bytes) -> Keyring:
        return cls({purpose: derive_key(secret, purpose) for purpose in PURPOSES})

    def mac(self, purpose: Purpose, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under the purpose's own key (32 bytes)."""
        return hmac.new(self.keys[purpose], message, hashlib.sha256).digest()

    def verify(self, purpose: Purpose, message: bytes, offered: bytes) -> bool:
        """Whether ``offered`` is this purpose's MAC of ``message``, or its first bytes."""
        if len(offered) < MIN_MAC_BYTES:
            return False
        return hmac.compare_digest(self.mac(purpose, message)[: len(offered)], offered)

    def text_mac(self, purpose: Purpose, value: str) -> str:
        """A 24-character MAC of ``value`` (144 bits): a form token, or a key safe to store."""
        return b64(self.mac(purpose, value.encode())[:18])

    def text_mac_ok(self, purpose: Purpose, value: str, offered: str) -> bool:
        """Whether ``offered`` is exactly :meth:`text_mac` of ``value`` (constant time)."""
        return hmac.compare_digest(self.text_mac(purpose, value).encode(), offered.encode())


def webhook_signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 over ``b"<timestamp>." + body`` (contract: webhooks)."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
