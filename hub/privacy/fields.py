"""Which columns hold sealed personal data, and the lookups over them.

Each sealed column has a field name (the GCM associated data, so a value copied
into another column does not open) and, where Cuiban looks rows up by mobile
number, a ``*_index`` column with the HMAC-SM3 blind index of the number's
digits (:func:`core.events.mobile_digits`: no spaces, dashes, +86 or 0086).
"""

from __future__ import annotations

from core.events import mobile_digits
from hub.privacy.vault import Vault

APPOINTMENT_OFFERS_MOBILE = "appointment_offers.mobile"
APPOINTMENTS_MOBILE = "appointments.mobile"
INBOUND_SMS_MOBILE = "inbound_sms.mobile"
INBOUND_SMS_TEXT = "inbound_sms.text"
WAP_CODES_MOBILE = "wap_codes.mobile"
WAP_SESSIONS_MOBILE = "wap_sessions.mobile"


def mobile_index(vault: Vault, mobile: str) -> bytes:
    """The blind index of a mobile number as Cuiban compares numbers."""
    return vault.blind_index(mobile_digits(mobile))


def reveal(vault: Vault, stored: str, *, field: str) -> str:
    """A stored value in clear: sealed ones are opened, rows written before sealing pass as-is.

    Rows stored before a column was sealed stay readable until ``cuiban keys rotate``
    (or the retention job) rewrites them.
    """
    return vault.open(stored, field=field) if Vault.is_sealed(stored) else stored
