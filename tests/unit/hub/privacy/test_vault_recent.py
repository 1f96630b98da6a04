"""What a vault sealed last opens again without SM4, and nothing else does."""

from __future__ import annotations

import pytest

from hub.privacy import vault as vault_module
from hub.privacy.vault import DataKey, SealedValueError, Vault

KEY = DataKey.from_hex("66" * 32)


def test_a_value_just_sealed_opens_from_memory_and_only_as_its_field() -> None:
    """The remembered text opens to its value for its own field, and is refused for another."""
    vault = Vault(KEY)
    sealed = vault.seal("13812345678", field="cases.applicant")
    assert vault.open(sealed, field="cases.applicant") == "13812345678"
    with pytest.raises(SealedValueError):
        vault.open(sealed, field="events.applicant")
    # Another process (another vault with the same key) opens it with SM4.
    assert Vault(KEY).open(sealed, field="cases.applicant") == "13812345678"


def test_a_changed_text_is_not_remembered_and_fails_its_check() -> None:
    """Only texts this vault made are remembered; a tampered one is opened and refused."""
    vault = Vault(KEY)
    sealed = vault.seal("张三丰", field="f")
    last = sealed[-1]
    tampered = sealed[:-1] + ("A" if last != "A" else "B")
    with pytest.raises(SealedValueError):
        vault.open(tampered, field="f")


def test_memory_is_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the bound the oldest value is forgotten and opened with SM4 again, still right."""
    monkeypatch.setattr(vault_module, "RECENT", 2)
    vault = Vault(KEY)
    first, *_ = [vault.seal(f"v{i}", field="f") for i in range(3)]
    assert first not in vault._recent
    assert vault.open(first, field="f") == "v0"
    assert len(vault._recent) == 2
