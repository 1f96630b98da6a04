"""Settings: TOML plus environment, refusals that name the key, secrets kept out of sight."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from core.errors import ConfigError
from hub.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RATES,
    DispatchSettings,
    Settings,
    load_settings,
)


def test_packaged_defaults_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no file anywhere the packaged defaults are the contract's defaults."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.source == "<packaged defaults>"
    assert settings.database.url.get_secret_value() == ""
    assert settings.http.port == 8080
    assert settings.channels.sms.provider == "console"
    assert settings.policy.max_escalations == 5
    assert [k.role for k in settings.auth.api_keys] == ["admin"]


def test_environment_overrides_nested_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CUIBAN_<SECTION>__<KEY> overrides any key, nested sections joined by __."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        environ={
            "CUIBAN_HTTP__PORT": "9000",
            "CUIBAN_CHANNELS__SMS__PROVIDER": "aliyun",
            "CUIBAN_CHANNELS__SMS__ALIYUN__ACCESS_KEY_SECRET": "s3cr3t-value",
            "CUIBAN_AUTH__API_KEYS": '["key-one-long", {key = "key-two-long", role = "ingest"}]',
            "CUIBAN_POLICY__WARN_WORKING_DAYS": "2",
        }
    )
    assert settings.http.port == 9000
    assert settings.channels.sms.provider == "aliyun"
    assert settings.channels.sms.aliyun.access_key_secret.get_secret_value() == "s3cr3t-value"
    assert [(k.key.get_secret_value(), k.role) for k in settings.auth.api_keys] == [
        ("key-one-long", "admin"),
        ("key-two-long", "ingest"),
    ]
    assert settings.policy.warn_working_days == 2


def test_reminder_rounds_read_as_sorted_times(tmp_path: Path) -> None:
    """policy.reminder_rounds: "HH:MM" strings, sorted, each once; [] turns rounds off."""
    path = tmp_path / "c.toml"
    path.write_text('[policy]\nreminder_rounds = ["14:00", "09:30", "14:00"]\n', "utf-8")
    assert load_settings(path, environ={}).policy.reminder_rounds == (time(9, 30), time(14, 0))
    path.write_text("[policy]\nreminder_rounds = []\n", "utf-8")
    assert load_settings(path, environ={}).policy.reminder_rounds == ()


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[http]\nprot = 1\n", "http.prot: unknown key"),
        ("[nonsense]\nx = 1\n", "nonsense: unknown key"),
        ('[http]\nport = "eighty"\n', "http.port"),
        ("[http]\nport = 70000\n", "http.port"),
        ('[http]\ntrusted_proxies = ["nginx"]\n', "http.trusted_proxies.0"),
        ('[http]\ntrusted_proxies = ["10.0.0.1/8"]\n', "http.trusted_proxies.0"),
        ('[clock]\nmode = "warp"\n', "clock.mode"),
        ('[clock]\nmode = "manual"\n', "clock.start"),
        ('[clock]\nmode = "manual"\nstart = "2026-03-02T09:00:00"\n', "clock.start"),
        ('[calendar]\ntimezone = "Mars/Olympus"\n', "calendar.timezone"),
        ('[policy]\nquiet_hours = "10pm-7am"\n', "policy.quiet_hours"),
        ('[policy]\noffice_start = "25:00"\n', "policy.office_start"),
        ('[policy]\nreminder_rounds = ["9am"]\n', "policy.reminder_rounds"),
        ('[channels.email]\ntls = "maybe"\n', "channels.email.tls"),
        ('[auth]\napi_keys = [{key = "short"}]\n', "auth.api_keys.0.key"),
        ('[auth]\napi_keys = [{key = "long-enough-key", role = "root"}]\n', "auth.api_keys.0.role"),
        (
            '[auth]\napi_keys = [{key = "long-enough-key", departments = ["SCJG"]}]\n',
            "departments and person apply to supervisor keys, not admin",
        ),
        (
            '[auth]\napi_keys = [{key = "long-enough-key", role = "supervisor", '
            'departments = [""]}]\n',
            "auth.api_keys.0.departments",
        ),
        ("[policy.matters.QS]\nwarn_fraction = 2.0\n", "policy.matters.QS.warn_fraction"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_key(tmp_path: Path, toml: str, named: str) -> None:
    """Unknown keys and bad values raise ConfigError naming the key."""
    path = tmp_path / "c.toml"
    path.write_text(toml, "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert named in str(info.value)
    assert str(path) in str(info.value)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    """A --config that does not exist is reported by path."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_secrets_never_show_in_reprs(tmp_path: Path) -> None:
    """No secret appears in the repr or str of the settings object."""
    path = tmp_path / "c.toml"
    path.write_text(
        '[database]\nurl = "postgresql://u:dbpass-XYZ@h/db"\n'
        '[auth]\napi_keys = ["apikey-XYZ-123"]\n'
        'callback_token = "cbtoken-XYZ"\nlink_secret = "link-XYZ"\n'
        '[channels.sms.aliyun]\naccess_key_secret = "aliyun-XYZ"\n'
        '[channels.email]\npassword = "smtp-XYZ"\n',
        "utf-8",
    )
    settings = load_settings(path, environ={})
    text = repr(settings) + str(settings)
    for secret in (
        "dbpass-XYZ",
        "apikey-XYZ-123",
        "cbtoken-XYZ",
        "link-XYZ",
        "aliyun-XYZ",
        "smtp-XYZ",
    ):
        assert secret not in text


def test_settings_are_frozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings cannot be changed once loaded."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    with pytest.raises(ValueError, match="frozen"):
        settings.http.port = 1  # type: ignore[misc]


def test_dispatch_settings_merge_partial_tables_with_defaults() -> None:
    """A [dispatch] section that sets one channel's concurrency keeps the others' defaults."""
    settings = Settings.model_validate(
        {"dispatch": {"batch_size": 10, "concurrency": {"sms": 2}, "rates": {"aliyun": 5}}}
    ).dispatch
    assert settings.batch_size == 10
    assert settings.concurrency["sms"] == 2
    assert settings.concurrency["email"] == DEFAULT_CONCURRENCY["email"]
    assert settings.rates["aliyun"] == 5
    assert settings.rates["tencent"] == DEFAULT_RATES["tencent"]
    assert Settings().dispatch == DispatchSettings()
    with pytest.raises(ValueError, match="heartbeat"):
        DispatchSettings(lease_seconds=5, heartbeat_seconds=10)


def test_provider_tables_take_exactly_their_channel_config_fields(tmp_path: Path) -> None:
    """[channels.*] keys are the channel config classes' fields: more of them, no strays."""
    path = tmp_path / "c.toml"
    path.write_text('[channels.sms.aliyun]\nregion_id = "cn-beijing"\ntimeout = 5\n', "utf-8")
    aliyun = load_settings(path, environ={}).channels.sms.aliyun
    assert (aliyun.region_id, aliyun.timeout, aliyun.sign_name) == ("cn-beijing", 5.0, "")
    path.write_text("[channels.wecom]\nagent_idd = 1\n", "utf-8")
    with pytest.raises(ConfigError, match=r"channels\.wecom\.agent_idd: unknown key"):
        load_settings(path, environ={})
