"""Start-up finds the data key: configured, generated for demos, refused when missing elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from hub.app import create_app
from hub.keys import VAULT
from hub.settings import Settings, load_settings

REAL = (
    '[auth]\napi_keys = ["admin-key-of-this-centre"]\n'
    'callback_token = "callback-token-of-the-centre"\n'
    'link_secret = "link-secret-of-the-centre"\n'
)
KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
MANUAL = '[clock]\nmode = "manual"\nstart = "2026-03-02T09:00:00+08:00"\n'


def settings_from(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "cuiban.toml"
    data = f'[database]\ndata_dir = "{tmp_path / "data"}"\n'
    path.write_text(data + text, "utf-8")
    return load_settings(path, environ={})


def test_a_real_hub_without_a_data_key_does_not_start(tmp_path: Path) -> None:
    """System clock, good secrets, no privacy.data_key: refused, naming the key, nothing written."""
    with pytest.raises(ConfigError, match=r"^privacy\.data_key: required"):
        create_app(settings_from(tmp_path, REAL))
    assert not (tmp_path / "data" / "data.key").exists()


def test_a_configured_key_seals_what_another_hub_with_it_opens(tmp_path: Path) -> None:
    """Two hubs with the same configured key read each other's sealed values."""
    text = REAL + f'[privacy]\ndata_key = "{KEY}"\n'
    first = create_app(settings_from(tmp_path, text))[VAULT]
    second = create_app(settings_from(tmp_path, text))[VAULT]
    sealed = first.seal("13800138000", field="cases.applicant")
    assert "13800138000" not in sealed
    assert second.open(sealed, field="cases.applicant") == "13800138000"
    assert not (tmp_path / "data" / "data.key").exists()


def test_the_manual_clock_and_demo_generate_one_key_and_keep_it(tmp_path: Path) -> None:
    """Manual clock: a key is made under data_dir once; a restart opens what was sealed."""
    first = create_app(settings_from(tmp_path, MANUAL))[VAULT]
    sealed = first.seal("张三", field="cases.applicant")
    assert (tmp_path / "data" / "data.key").stat().st_mode & 0o777 == 0o600
    again = create_app(settings_from(tmp_path, MANUAL))[VAULT]
    assert again.open(sealed, field="cases.applicant") == "张三"
    demo = create_app(settings_from(tmp_path, REAL), demo=True)[VAULT]
    assert demo.open(sealed, field="cases.applicant") == "张三"
