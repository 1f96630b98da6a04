"""People's contact fields, sealed one column each; their names stay in clear.

``people`` is the directory of officials — reviewers, heads, supervisors — that
reminders and escalations go to. Their mobile, e-mail, WeCom userid and WeChat
openid are personal data and are sealed (``people.mobile`` …), the mobile with a
blind index (``mobile_index``) so export and erasure by number find the row.
Names stay clear: they are officials acting in office, and their names are what
notices, digests, the WAP inbox and the audit trail show by design.
Each field is its own column (filled from ``PUT /v1/people`` and, where that
left gaps, from ``node.started``), so each is sealed on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.privacy.fields import (
    PEOPLE_EMAIL,
    PEOPLE_MOBILE,
    PEOPLE_WECHAT_OPENID,
    PEOPLE_WECOM_USERID,
    mobile_index,
    reveal,
)
from hub.privacy.vault import Vault

#: Each contact column of ``people`` and the field it is sealed as.
CONTACT_FIELDS: dict[str, str] = {
    "mobile": PEOPLE_MOBILE,
    "email": PEOPLE_EMAIL,
    "wecom_userid": PEOPLE_WECOM_USERID,
    "wechat_openid": PEOPLE_WECHAT_OPENID,
}


def sealed_contacts(vault: Vault, given: Mapping[str, Any]) -> dict[str, Any]:
    """What to store for the contacts in ``given``: each one sealed (None stays None),
    and ``mobile_index`` the blind index of the mobile."""
    stored: dict[str, Any] = {
        column: vault.seal_optional(given.get(column) or None, field=field)
        for column, field in CONTACT_FIELDS.items()
    }
    mobile = given.get("mobile")
    stored["mobile_index"] = mobile_index(vault, mobile) if mobile else None
    return stored


def opened_person(vault: Vault, row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``people`` row with its contacts in clear (rows stored before sealing as they are)."""
    person = dict(row)
    for column, field in CONTACT_FIELDS.items():
        value = person.get(column)
        if isinstance(value, str):
            person[column] = reveal(vault, value, field=field)
    return person
