"""The registry, config construction from settings, and the console channel."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from channels import CHANNELS, SMS_PROVIDERS, config_from_mapping
from channels.aliyun import AliyunConfig
from channels.console import ConsoleChannel, ConsoleConfig
from core.errors import ConfigError
from core.notices import ChannelKind, NoticeKind
from tests.contract.conftest import clock, message


def test_registry_names_every_adapter_and_its_config_type() -> None:
    """CHANNELS is explicit and each entry says which config dataclass builds it."""
    assert set(CHANNELS) == {"aliyun", "tencent", "http", "console", "email", "wecom", "wechat_mp"}
    assert set(SMS_PROVIDERS) <= set(CHANNELS)
    assert all(hasattr(cls, "config_type") for cls in CHANNELS.values())


def test_config_from_settings_mapping_names_unknown_and_missing_keys() -> None:
    """Bad settings stop start-up with the dotted key, as the contract requires."""
    good = {
        "endpoint": "https://dysmsapi.aliyuncs.com",
        "access_key_id": "id",
        "access_key_secret": "s",
        "sign_name": "某市",
        "templates": {"case_accepted": "SMS_1"},
    }
    config = config_from_mapping(AliyunConfig, good, section="channels.sms.aliyun")
    assert config.templates["case_accepted"] == "SMS_1"
    with pytest.raises(ConfigError, match=r"channels\.sms\.aliyun\.sign_nam\b"):
        config_from_mapping(AliyunConfig, {**good, "sign_nam": "x"}, section="channels.sms.aliyun")
    missing = {k: v for k, v in good.items() if k != "sign_name"}
    with pytest.raises(ConfigError, match=r"channels\.sms\.aliyun\.sign_name"):
        config_from_mapping(AliyunConfig, missing, section="channels.sms.aliyun")


async def test_console_writes_the_signed_sms_and_counts_segments() -> None:
    """The console prints header (mobile masked), 【signature】 + body, and bills like an SMS."""
    stream = io.StringIO()
    channel = ConsoleChannel(
        ConsoleConfig(stream=stream, sign_name="某市政务服务中心"), clock=clock
    )
    receipt = await channel.send(message())
    out = stream.getvalue()
    assert out.startswith("── case_accepted → sms:138****5678 · NJ20250312-0042 [msg-0001]\n")
    assert "13812345678" not in out
    assert "【某市政务服务中心】您的食品经营许可申请已受理" in out
    assert receipt.segments == 2 and receipt.provider_message_id == "console-msg-0001"


async def test_console_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stream the console writes to the current stdout, e-mail subject included."""
    receipt = await ConsoleChannel().send(message(NoticeKind.URGE, ChannelKind.EMAIL, "a@b.cn"))
    out = capsys.readouterr().out
    assert "催办：NJ20250312-0042“审查”环节" in out and "urge → email:a@b.cn" in out
    assert receipt.accepted_at.tzinfo is not None
    assert receipt.accepted_at <= datetime.now(UTC)
