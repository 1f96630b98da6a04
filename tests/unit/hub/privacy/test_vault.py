"""SM4-GCM sealing and HMAC-SM3 blind indexes: round trips, binding, rotation, key handling."""

from __future__ import annotations

import hmac
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError
from hub.privacy.keys import KEY_FILE, load_vault
from hub.privacy.vault import DataKey, SealedValueError, Vault
from hub.settings import PrivacySettings

KEY_A = DataKey.from_hex("11" * 32)
KEY_B = DataKey.from_hex("22" * 32)


@given(st.text())
def test_any_text_opens_to_itself(value: str) -> None:
    """Whatever is sealed opens to the same text, and the sealed form never contains it."""
    vault = Vault(KEY_A)
    sealed = vault.seal(value, field="cases.applicant")
    assert vault.open(sealed, field="cases.applicant") == value
    assert sealed.startswith(f"sm4:{KEY_A.key_id}:")
    if len(value) >= 4:
        assert value not in sealed


def test_the_same_value_seals_differently_each_time() -> None:
    """A random nonce per value: equal mobiles do not give equal ciphertexts."""
    vault = Vault(KEY_A)
    assert vault.seal("13812345678", field="f") != vault.seal("13812345678", field="f")


def test_a_value_moved_to_another_field_does_not_open() -> None:
    """The field name is authenticated: a sealed mobile pasted into another column fails."""
    vault = Vault(KEY_A)
    sealed = vault.seal("13812345678", field="people.mobile")
    with pytest.raises(SealedValueError, match="another field"):
        vault.open(sealed, field="messages.recipient")


@given(st.integers(min_value=0, max_value=200))
def test_a_changed_character_is_detected(position: int) -> None:
    """Any change to the sealed text is refused, never opened to something else."""
    vault = Vault(KEY_A)
    sealed = vault.seal("张三丰 13812345678", field="f")
    head = len(f"sm4:{KEY_A.key_id}:")
    index = head + position % (len(sealed) - head)
    flipped = "A" if sealed[index] != "A" else "B"
    damaged = sealed[:index] + flipped + sealed[index + 1 :]
    with pytest.raises(SealedValueError):
        vault.open(damaged, field="f")


def test_an_old_key_still_opens_what_it_sealed_until_rotated() -> None:
    """After a new key is configured, values sealed with the previous one open and need rotation."""
    old = Vault(KEY_A).seal("13812345678", field="f")
    rotated = Vault(KEY_B, previous=[KEY_A])
    assert rotated.open(old, field="f") == "13812345678"
    assert rotated.needs_rotation(old)
    assert not rotated.needs_rotation(rotated.seal("x", field="f"))
    with pytest.raises(SealedValueError, match="not configured"):
        Vault(KEY_B).open(old, field="f")


def test_blind_index_is_stable_per_key_and_differs_between_keys() -> None:
    """Equal numbers index equally under one key; another key gives another index."""
    assert Vault(KEY_A).blind_index("13812345678") == Vault(KEY_A).blind_index("13812345678")
    assert Vault(KEY_A).blind_index("13812345678") != Vault(KEY_A).blind_index("13812345679")
    assert Vault(KEY_A).blind_index("13812345678") != Vault(KEY_B).blind_index("13812345678")


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_the_index_is_hmac_sm3_of_each_value_alone(values: list[str]) -> None:
    """Each index is HMAC-SM3 of its own value: the keyed MAC reused per key keeps no input."""
    vault = Vault(KEY_A)
    for value in values:
        expected = hmac.digest(KEY_A.index_key, value.encode(), "sm3")
        assert vault.blind_index(value) == expected


def test_the_index_key_is_not_the_sealing_key() -> None:
    """One key per purpose: HKDF gives the SM4 key and the index key apart."""
    assert KEY_A.seal_key not in KEY_A.index_key
    assert len(KEY_A.seal_key) == 16


def test_short_or_malformed_keys_are_refused_by_name() -> None:
    """A key under 16 bytes or not hex stops start-up naming the key."""
    with pytest.raises(ConfigError, match=r"privacy.data_key: at least 16 bytes"):
        DataKey.from_hex("ab" * 15)
    with pytest.raises(ConfigError, match=r"privacy.data_key: must be hexadecimal"):
        DataKey.from_hex("not hex at all")
    with pytest.raises(ConfigError, match=r"privacy.previous_keys\[0\]"):
        load_vault(
            PrivacySettings(data_key="11" * 32, previous_keys=["12"]),  # type: ignore[list-item]
            data_dir=Path("/nonexistent"),
            allow_generated=False,
        )


def test_an_empty_key_is_refused_outside_the_demo(tmp_path: Path) -> None:
    """Production needs a configured key; nothing is generated."""
    with pytest.raises(ConfigError, match=r"privacy\.data_key: required"):
        load_vault(PrivacySettings(), data_dir=tmp_path, allow_generated=False)
    assert not (tmp_path / KEY_FILE).exists()


def test_the_demo_generates_one_private_key_and_keeps_it(tmp_path: Path) -> None:
    """--demo makes a key file readable by its owner only, and reuses it on the next start."""
    first = load_vault(PrivacySettings(), data_dir=tmp_path, allow_generated=True)
    second = load_vault(PrivacySettings(), data_dir=tmp_path, allow_generated=True)
    assert first.current.key_id == second.current.key_id
    mode = stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    sealed = first.seal("13812345678", field="f")
    assert second.open(sealed, field="f") == "13812345678"


def test_a_lookup_matches_the_index_under_every_configured_key() -> None:
    """During a rotation a row carries the old key's index or the new one's: both are looked for."""
    before = Vault(KEY_A)
    during = Vault(KEY_B, [KEY_A])
    wanted = during.blind_indexes("13812345678")
    assert wanted[0] == during.blind_index("13812345678")  # the current key's first
    assert before.blind_index("13812345678") in wanted
    assert Vault(KEY_B).blind_indexes("13812345678") == [during.blind_index("13812345678")]
