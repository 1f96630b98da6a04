"""Start-up refuses SMS templates that can be billed as more segments than allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from hub.app import create_app
from hub.settings import Settings, load_settings

SIGN = "某市政务服务中心"


def _settings(tmp_path: Path, **env: str) -> Settings:
    environ = {
        "CUIBAN_DATABASE__DATA_DIR": str(tmp_path / "data"),
        "CUIBAN_CHANNELS__SMS__TENCENT__SIGN_NAME": SIGN,
        # A real start-up needs real secrets (hub/secret_policy.py).
        "CUIBAN_AUTH__API_KEYS": '["admin-key-of-this-centre"]',
        "CUIBAN_AUTH__CALLBACK_TOKEN": "callback-token-of-this-centre",
        "CUIBAN_AUTH__LINK_SECRET": "link-secret-of-this-centre",
        "CUIBAN_PRIVACY__DATA_KEY": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        **env,
    }
    return load_settings(None, environ=environ)


def test_max_segments_defaults_to_three(tmp_path: Path) -> None:
    """The packaged config and the model agree: three segments unless told otherwise."""
    assert _settings(tmp_path).channels.sms.max_segments == 3


def test_a_real_provider_starts_when_every_template_fits(tmp_path: Path) -> None:
    """With Tencent and the default maximum, the shipped templates pass the check."""
    create_app(_settings(tmp_path, CUIBAN_CHANNELS__SMS__PROVIDER='"tencent"'))


def test_a_template_that_can_exceed_the_maximum_stops_start_up(tmp_path: Path) -> None:
    """With max_segments = 2 a template that reaches 3 at worst stops start-up, named."""
    settings = _settings(
        tmp_path,
        CUIBAN_CHANNELS__SMS__PROVIDER='"tencent"',
        CUIBAN_CHANNELS__SMS__MAX_SEGMENTS="2",
    )
    with pytest.raises(ConfigError, match=r"templates/\w+/sms\.j2 can reach 3"):
        create_app(settings)


def test_the_console_provider_is_not_checked(tmp_path: Path) -> None:
    """The console prints rather than bills, so even a maximum of 1 lets it start."""
    create_app(_settings(tmp_path, CUIBAN_CHANNELS__SMS__MAX_SEGMENTS="1"))


def test_the_sign_name_comes_from_the_chosen_provider(tmp_path: Path) -> None:
    """Aliyun's own 【signature】 is counted: a 60-character one pushes a template to 4."""
    settings = _settings(
        tmp_path,
        CUIBAN_CHANNELS__SMS__PROVIDER='"aliyun"',
        CUIBAN_CHANNELS__SMS__ALIYUN__SIGN_NAME="某" * 60,
    )
    with pytest.raises(ConfigError, match="can reach 4 SMS segments"):
        create_app(settings)
