"""People's contact fields: each sealed on its own, opened back, rows from before passed through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.privacy.fields import SEALED_COLUMNS, mobile_index
from hub.privacy.people import CONTACT_FIELDS, opened_person, sealed_contacts
from hub.privacy.vault import DataKey, SealedValueError, Vault

VAULT = Vault(DataKey.from_hex("44" * 32))
CONTACTS = {
    "mobile": "13900001111",
    "email": "li@example.gov.cn",
    "wecom_userid": "LiSi",
    "wechat_openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
}


def test_each_contact_is_sealed_and_opens_back() -> None:
    """No contact is stored in clear; the mobile gets its blind index; opening gives them back."""
    stored = sealed_contacts(VAULT, CONTACTS)
    assert all(Vault.is_sealed(stored[c]) for c in CONTACT_FIELDS)
    assert not any(v in str(stored) for v in CONTACTS.values())
    assert stored["mobile_index"] == mobile_index(VAULT, "+86 139-0000-1111")
    row = {"person_id": "p-li", "name": "李四", **stored}
    assert opened_person(VAULT, row) == {"person_id": "p-li", "name": "李四", **CONTACTS} | {
        "mobile_index": stored["mobile_index"]
    }


def test_missing_contacts_stay_missing() -> None:
    """No e-mail (an empty one neither) is sealed as nothing; no mobile, no index."""
    stored = sealed_contacts(VAULT, {"email": "", "wecom_userid": "LiSi"})
    assert stored["mobile"] is None and stored["email"] is None
    assert stored["mobile_index"] is None
    assert opened_person(VAULT, stored)["wecom_userid"] == "LiSi"


def test_a_row_stored_before_sealing_reads_as_it_is() -> None:
    """Clear values from before the migration pass through unchanged."""
    row = {"person_id": "p-li", "name": "李四", **CONTACTS}
    assert opened_person(VAULT, row) == row


def test_a_contact_moved_to_another_column_does_not_open() -> None:
    """A sealed e-mail copied into the mobile column is refused, not shown."""
    stored = sealed_contacts(VAULT, CONTACTS)
    with pytest.raises(SealedValueError):
        opened_person(VAULT, {"mobile": stored["email"]})


def test_every_contact_column_is_registered() -> None:
    """Rotation, retention and erasure walk each people contact column."""
    registered = {(c.table, c.column): c for c in SEALED_COLUMNS}
    for column, field in CONTACT_FIELDS.items():
        assert registered["people", column].field == field
    assert registered["people", "mobile"].index == "mobile_index"


@given(st.dictionaries(st.sampled_from(sorted(CONTACT_FIELDS)), st.text(min_size=1, max_size=40)))
def test_any_contacts_round_trip(given_contacts: dict[str, str]) -> None:
    """Whatever is stored comes back as given."""
    opened = opened_person(VAULT, sealed_contacts(VAULT, given_contacts))
    assert {c: opened[c] for c in given_contacts} == given_contacts
