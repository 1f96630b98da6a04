"""Which columns hold sealed personal data, and the lookups over them.

Each sealed column has a field name (the GCM associated data, so a value copied
into another column does not open) and, where Cuiban looks rows up by mobile
number, a ``*_index`` column with the HMAC-SM3 blind index of the number's
digits (:func:`core.events.mobile_digits`: no spaces, dashes, +86 or 0086).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.events import mobile_digits
from hub.privacy.vault import SealedValueError, Vault

APPOINTMENT_OFFERS_MOBILE = "appointment_offers.mobile"
APPOINTMENTS_MOBILE = "appointments.mobile"
CASES_APPLICANT = "cases.applicant"
EVALUATIONS_COMMENT = "evaluations.comment"
EVENTS_APPLICANT = "events.applicant"
INBOUND_SMS_MOBILE = "inbound_sms.mobile"
INBOUND_SMS_TEXT = "inbound_sms.text"
MESSAGES_BODY = "messages.body"
MESSAGES_FALLBACKS = "messages.fallbacks"
MESSAGES_HTML = "messages.html"
MESSAGES_PERSONAL = "messages.personal"
MESSAGES_RECIPIENT = "messages.recipient"
MESSAGES_SEALED = "messages.sealed"
OPT_OUTS_MOBILE = "opt_outs.mobile"
PEOPLE_EMAIL = "people.email"
PEOPLE_MOBILE = "people.mobile"
PEOPLE_WECHAT_OPENID = "people.wechat_openid"
PEOPLE_WECOM_USERID = "people.wecom_userid"
RECTIFICATIONS_COMMENT = "rectifications.comment"
RECTIFICATIONS_REPLY = "rectifications.reply"
SUBSCRIBERS_ADDRESS = "subscribers.address"
WAP_CODES_MOBILE = "wap_codes.mobile"
WAP_COMPLAINTS_CONTENT = "wap_complaints.content"
WAP_SESSIONS_MOBILE = "wap_sessions.mobile"


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A column that holds sealed values: what key rotation, retention and erasure walk.

    ``field`` is the associated data the values are sealed with; ``index`` names the
    column holding the blind index of the same value, where rows are looked up by it.
    ``paths`` are set where the sealed values sit inside a ``jsonb`` column rather than
    being its value: dotted keys (``"accepted.applicant"``), each holding one sealed
    JSON text, or an object in clear in rows stored before sealing. ``derived`` columns
    hold a cache of other rows: deleting the row is as good as rewriting it.
    ``older_fields`` are field names the column's values were sealed with before: they
    still open (:func:`open_as`), and rotation re-seals them as ``field``.
    """

    table: str
    column: str
    field: str
    row_key: tuple[str, ...]
    index: str | None = None
    paths: tuple[str, ...] = ()
    derived: bool = False
    older_fields: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a value of this column may be sealed as, the current one first."""
        return (self.field, *self.older_fields)


#: An event's applicant is the case's applicant: sealed as ``cases.applicant``, the text
#: the case row and fold hold (one seal per applicant per batch); as ``events.applicant``
#: before that.
EVENTS_PAYLOAD = SealedColumn(
    "events",
    "payload",
    CASES_APPLICANT,
    ("seq",),
    paths=("applicant",),
    older_fields=(EVENTS_APPLICANT,),
)


#: Every sealed column. A new sealed column is added here, or rotation leaves it behind.
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("inbound_sms", "mobile", INBOUND_SMS_MOBILE, ("id",), "mobile_index"),
    SealedColumn("inbound_sms", "text", INBOUND_SMS_TEXT, ("id",)),
    SealedColumn(
        "appointment_offers", "mobile", APPOINTMENT_OFFERS_MOBILE, ("id",), "mobile_index"
    ),
    SealedColumn("appointments", "mobile", APPOINTMENTS_MOBILE, ("case_no",)),
    SealedColumn("wap_codes", "mobile", WAP_CODES_MOBILE, ("id",), "mobile_index"),
    SealedColumn("wap_sessions", "mobile", WAP_SESSIONS_MOBILE, ("sid_mac",)),
    # jsonb: the sealed applicant object is stored as a JSON string.
    SealedColumn("cases", "applicant", CASES_APPLICANT, ("case_no",), "applicant_mobile_index"),
    EVENTS_PAYLOAD,
    SealedColumn("rectifications", "comment", RECTIFICATIONS_COMMENT, ("id",)),
    SealedColumn("rectifications", "reply", RECTIFICATIONS_REPLY, ("id",)),
    SealedColumn("people", "mobile", PEOPLE_MOBILE, ("person_id",), "mobile_index"),
    SealedColumn("people", "email", PEOPLE_EMAIL, ("person_id",)),
    SealedColumn("people", "wecom_userid", PEOPLE_WECOM_USERID, ("person_id",)),
    SealedColumn("people", "wechat_openid", PEOPLE_WECHAT_OPENID, ("person_id",)),
    SealedColumn(
        "case_folds",
        "fold",
        CASES_APPLICANT,
        ("case_no",),
        paths=("accepted.applicant", "applied.applicant"),
        derived=True,
    ),
    # A message's recipient, words, fallbacks and personal variables, one sealed JSON object
    # (migration 0036); its recipient's index is recomputed from the object's "recipient".
    SealedColumn("messages", "sealed", MESSAGES_SEALED, ("id",), "recipient_index"),
    # Rows of migration 0029 hold them one column each (NULL in newer rows); fallbacks is
    # jsonb: a sealed list is stored as a JSON string ('[]' stays plain).
    SealedColumn("messages", "recipient", MESSAGES_RECIPIENT, ("id",), "recipient_index"),
    SealedColumn("messages", "body", MESSAGES_BODY, ("id",)),
    SealedColumn("messages", "html", MESSAGES_HTML, ("id",)),
    SealedColumn("messages", "fallbacks", MESSAGES_FALLBACKS, ("id",)),
    SealedColumn("messages", "personal", MESSAGES_PERSONAL, ("id",)),
    SealedColumn("wap_complaints", "content", WAP_COMPLAINTS_CONTENT, ("id",)),
    SealedColumn("opt_outs", "mobile", OPT_OUTS_MOBILE, ("id",), "mobile_index"),
    SealedColumn("evaluations", "comment", EVALUATIONS_COMMENT, ("case_no",)),
    SealedColumn("subscribers", "address", SUBSCRIBERS_ADDRESS, ("id",), "address_index"),
)


def mobile_index(vault: Vault, mobile: str) -> bytes:
    """The blind index of a mobile number as Cuiban compares numbers: what a row stores."""
    return vault.blind_index(mobile_digits(mobile))


def mobile_lookup(vault: Vault, mobile: str) -> list[bytes]:
    """The indexes a stored row of this number may carry, one per configured key.

    Look rows up with ``index_column = ANY($n::bytea[])`` and this list, never with
    :func:`mobile_index` alone: while ``cuiban keys rotate`` runs, rows it has not
    reached yet still carry the previous key's index.
    """
    return vault.blind_indexes(mobile_digits(mobile))


def address_key(channel: str, address: str) -> str:
    """An address as Cuiban compares it: a mobile's digits, anything else trimmed, lower case.

    E-mail domains and WeCom userids are case-insensitive; a WeChat openid or a person id
    differing only in case from another is not a real case, so one rule serves them all.
    """
    if channel == "sms":
        return mobile_digits(address)
    return address.strip().lower()


def address_index(vault: Vault, channel: str, address: str) -> bytes:
    """The blind index of a message's recipient; for SMS the same as :func:`mobile_index`.

    hub/privacy/rotate.py INDEX_RULES["messages.sealed"] (and "messages.recipient", for rows
    of migration 0029) make it the same way.
    """
    return vault.blind_index(address_key(channel, address))


def address_lookup(vault: Vault, channel: str, address: str) -> list[bytes]:
    """The indexes a stored message to this address may carry, one per configured key."""
    return vault.blind_indexes(address_key(channel, address))


def open_as(vault: Vault, sealed: str, fields: Sequence[str]) -> str:
    """Open ``sealed`` as the first of ``fields`` it was sealed as (a column's older fields).

    A value sealed as the current field opens at the first try; only rows from before a
    column's field changed pay for a second.
    """
    for field in fields[:-1]:
        try:
            return vault.open(sealed, field=field)
        except SealedValueError:
            continue
    return vault.open(sealed, field=fields[-1])


def reveal(vault: Vault, stored: str, *, field: str) -> str:
    """A stored value in clear: sealed ones are opened, rows written before sealing pass as-is.

    Rows stored before a column was sealed stay readable until ``cuiban keys rotate``
    (or the retention job) rewrites them.
    """
    return vault.open(stored, field=field) if Vault.is_sealed(stored) else stored
