"""Personal data at rest: SM4-GCM sealed values and HMAC-SM3 blind indexes.

密评 (GB/T 39786-2021) asks government systems to protect the confidentiality
of important data with SM4 and its integrity with SM3; 《个人信息保护法》 Art. 51
names encryption as a security measure. Both primitives come from OpenSSL
through the ``cryptography`` package — no pure-Python crypto on the hot path.

A sealed value is text, so it fits the ``text`` and ``jsonb`` columns it
replaces::

    sm4:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>

* **One key per purpose.** The configured data key is never used directly:
  HKDF-SM3 derives the SM4 key that seals values and, apart from it, the HMAC
  key of the blind index, so neither can stand in for the other.
* **Bound to its column.** The field name (``"cases.applicant"``) is the GCM
  associated data: a sealed mobile copied into another column does not open.
* **Key ids.** Each value names the key that sealed it, so after a new key is
  configured the old ones (``privacy.previous_keys``) still open what they
  sealed until ``cuiban keys rotate`` has re-sealed it.
* **Blind index.** A lookup by mobile number (SMS-code sign-in, ``CX``/``TD``
  replies, de-duplication) compares ``HMAC-SM3(index key, normalised number)``,
  never the number. The index key follows the current data key; rotation
  rewrites the indexes with the values.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import ConfigError, CuibanError

PREFIX = "sm4:"
NONCE_BYTES = 12  # GCM's recommended nonce; random per value (NIST SP 800-38D §8.2.2)
TAG_BYTES = 16
MIN_KEY_BYTES = 16
RECENT = 4096  # sealed values remembered for opening again without SM4 (a batch's cases)

_SEAL_INFO = b"cuiban/personal-data/sm4-gcm/v1"
_INDEX_INFO = b"cuiban/personal-data/blind-index/hmac-sm3/v1"
_KEY_ID_INFO = b"cuiban/personal-data/key-id/v1"


class SealedValueError(CuibanError):
    """A sealed value could not be opened: unknown key, damaged, or from another column."""


def _derive(material: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SM3(), length=length, salt=None, info=info).derive(material)


@dataclass(frozen=True)
class DataKey:
    """One configured data key and what is derived from it.

    The SM4 algorithm object and a keyed HMAC-SM3 are made once per key, not per value:
    building them costs about as much as sealing a short value (bench/vault_cost.py).
    """

    key_id: str
    seal_key: bytes
    index_key: bytes
    cipher: algorithms.SM4 = dataclasses.field(init=False, repr=False, compare=False)
    _index_mac: hmac.HMAC = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipher", algorithms.SM4(self.seal_key))
        object.__setattr__(self, "_index_mac", hmac.HMAC(self.index_key, hashes.SM3()))

    def index(self, normalised: str) -> bytes:
        """HMAC-SM3 of ``normalised`` under this key's index key."""
        mac = self._index_mac.copy()  # keyed already: copying skips the key schedule
        mac.update(normalised.encode())
        return mac.finalize()

    @classmethod
    def from_material(cls, material: bytes) -> DataKey:
        if len(material) < MIN_KEY_BYTES:
            raise ConfigError(
                f"privacy.data_key: at least {MIN_KEY_BYTES} bytes "
                f"({2 * MIN_KEY_BYTES} hex digits) are needed; this one has {len(material)}"
            )
        return cls(
            key_id=_derive(material, _KEY_ID_INFO, 4).hex(),
            seal_key=_derive(material, _SEAL_INFO, 16),  # SM4 keys are 128 bits
            index_key=_derive(material, _INDEX_INFO, 32),
        )

    @classmethod
    def from_hex(cls, text: str, *, name: str = "privacy.data_key") -> DataKey:
        try:
            material = bytes.fromhex(text.strip())
        except ValueError:
            raise ConfigError(f"{name}: must be hexadecimal key material") from None
        try:
            return cls.from_material(material)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("privacy.data_key", name)) from None


class Vault:
    """Seals and opens personal fields with the current key; opens with any known key."""

    def __init__(self, current: DataKey, previous: Iterable[DataKey] = ()) -> None:
        self.current = current
        self._keys = {key.key_id: key for key in previous}
        self._keys[current.key_id] = current
        # What this process sealed last, by sealed text: ingest seals a case's applicant and
        # the acceptance notice, in the same transaction, reads it back to address the SMS;
        # opening it again would cost as much as the seal. Bounded, oldest out first; only
        # texts this vault made are in it, so a changed or foreign text is opened (and checked).
        # An OrderedDict: dropping the oldest entry of a plain dict (``next(iter(d))``) walks
        # the slots its earlier deletions left empty, which cost more than the SM4 call.
        self._recent: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def seal(self, value: str, *, field: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(self.current.cipher, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(field.encode())
        body = encryptor.update(value.encode()) + encryptor.finalize()
        packed = base64.urlsafe_b64encode(nonce + body + encryptor.tag).rstrip(b"=")
        sealed = f"{PREFIX}{self.current.key_id}:{packed.decode()}"
        self._recent[sealed] = (field, value)
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return sealed

    def open(self, sealed: str, *, field: str) -> str:
        recent = self._recent.get(sealed)
        if recent is not None and recent[0] == field:
            return recent[1]
        key_id, packed = self._split(sealed)
        key = self._keys.get(key_id)
        if key is None:
            raise SealedValueError(
                f"{field}: sealed with key {key_id}, which is not configured "
                "(privacy.data_key or privacy.previous_keys)"
            )
        try:
            raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        except (ValueError, binascii.Error):
            raise SealedValueError(f"{field}: a sealed value is damaged") from None
        # Unpadded base64 leaves spare bits in the last character: a text that decodes
        # but is not the canonical spelling of those bytes was changed after sealing.
        canonical = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        if len(raw) < NONCE_BYTES + TAG_BYTES or canonical != packed:
            raise SealedValueError(f"{field}: a sealed value is damaged")
        nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        decryptor = Cipher(key.cipher, modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(field.encode())
        try:
            return (decryptor.update(body) + decryptor.finalize()).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise SealedValueError(
                f"{field}: a sealed value does not open (damaged, or from another field)"
            ) from None

    def seal_optional(self, value: str | None, *, field: str) -> str | None:
        return None if value is None else self.seal(value, field=field)

    def open_optional(self, sealed: str | None, *, field: str) -> str | None:
        return None if sealed is None else self.open(sealed, field=field)

    def blind_index(self, normalised: str, *, key: DataKey | None = None) -> bytes:
        """HMAC-SM3 of an already normalised value (a mobile without +86, a lower-case e-mail)."""
        return (key or self.current).index(normalised)

    def blind_indexes(self, normalised: str) -> list[bytes]:
        """The index under every configured key, the current one first: what a lookup matches.

        While ``cuiban keys rotate`` runs, rows not yet re-indexed carry an older key's
        index; matching any of these finds them before and after their turn.
        """
        return [self.blind_index(normalised, key=key) for key in self.keys()]

    def keys(self) -> list[DataKey]:
        """The current key, then the previous ones."""
        return [self.current, *(k for k in self._keys.values() if k is not self.current)]

    def needs_rotation(self, sealed: str) -> bool:
        """Sealed with a key other than the current one."""
        key_id, _ = self._split(sealed)
        return key_id != self.current.key_id

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(PREFIX)

    @staticmethod
    def _split(sealed: str) -> tuple[str, str]:
        if not sealed.startswith(PREFIX):
            raise SealedValueError("not a sealed value")
        key_id, sep, packed = sealed[len(PREFIX) :].partition(":")
        if not sep:
            raise SealedValueError("a sealed value is damaged")
        return key_id, packed
