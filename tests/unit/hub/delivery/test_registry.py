"""Building the channel adapters from ``[channels]`` settings, and the dispatch settings."""

from __future__ import annotations

import pytest

from channels import (
    AliyunSms,
    ConsoleChannel,
    EmailChannel,
    HttpSms,
    TencentSms,
    WeChatMp,
    WeComApp,
)
from core.errors import ConfigError
from core.notices import ChannelKind
from hub.delivery.registry import open_channels
from hub.settings import ChannelsSettings


def _now() -> object:
    raise AssertionError("not called while building")


@pytest.mark.parametrize(
    ("provider", "cls"),
    [
        ("aliyun", AliyunSms),
        ("tencent", TencentSms),
        ("http", HttpSms),
        ("console", ConsoleChannel),
    ],
)
async def test_sms_goes_through_the_configured_provider(provider: str, cls: type) -> None:
    """channels.sms.provider picks the SMS adapter; its name keys rate limits and breakers."""
    settings = ChannelsSettings.model_validate(
        {"sms": {"provider": provider, "http": {"url": "http://127.0.0.1:9/send"}}}
    )
    registry = await open_channels(settings, clock=_now)  # type: ignore[arg-type]
    try:
        assert isinstance(registry.adapter(ChannelKind.SMS), cls)
        assert registry.provider("sms") == provider
        assert registry.adapter("email") is None
        assert registry.adapter("wap") is None
        assert registry.provider("wap") == "wap"
    finally:
        await registry.aclose()
        await registry.aclose()  # twice is harmless


async def test_other_media_only_when_enabled() -> None:
    """E-mail, WeCom and WeChat adapters exist only for enabled sections, sharing one session."""
    settings = ChannelsSettings.model_validate(
        {
            "email": {"enabled": True},
            "wecom": {"enabled": True, "corp_id": "ww1", "corp_secret": "s", "agent_id": 2},
            "wechat_mp": {"enabled": True, "app_id": "wx1", "app_secret": "s"},
        }
    )
    registry = await open_channels(settings, clock=_now)  # type: ignore[arg-type]
    try:
        assert isinstance(registry.adapter("email"), EmailChannel)
        assert isinstance(registry.adapter("wecom"), WeComApp)
        assert isinstance(registry.adapter("wechat_mp"), WeChatMp)
        assert registry.session is not None
    finally:
        await registry.aclose()
    assert registry.session.closed


async def test_http_success_rule_and_token_map_to_the_adapter_config() -> None:
    """success_rule 'path=value' and the bearer token reach the HTTP gateway adapter."""
    settings = ChannelsSettings.model_validate(
        {
            "sms": {
                "provider": "http",
                "http": {"url": "http://gw/send", "success_rule": "result.ok=true", "token": "t0k"},
            }
        }
    )
    registry = await open_channels(settings, clock=_now)  # type: ignore[arg-type]
    try:
        adapter = registry.adapter("sms")
        assert isinstance(adapter, HttpSms)
        assert (adapter.config.success_path, adapter.config.success_value) == ("result.ok", "true")
        assert adapter.config.headers["Authorization"] == "Bearer t0k"
    finally:
        await registry.aclose()


async def test_a_bad_success_rule_names_the_key() -> None:
    """An unusable channel setting stops start-up with the dotted key in the message."""
    settings = ChannelsSettings.model_validate(
        {"sms": {"provider": "http", "http": {"url": "http://gw/send", "success_rule": "ok"}}}
    )
    with pytest.raises(ConfigError, match=r"channels\.sms\.http\.success_rule"):
        await open_channels(settings, clock=_now)  # type: ignore[arg-type]
