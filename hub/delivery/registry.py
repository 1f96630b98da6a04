"""The channel adapters this process sends through, built once from settings.

One adapter per medium: ``sms`` goes through ``channels.sms.provider``
(``aliyun``, ``tencent``, ``http`` or ``console``); ``email``, ``wecom`` and
``wechat_mp`` only when enabled. All HTTP adapters share one
``aiohttp.ClientSession`` owned by the registry. The ``wap`` medium has no
adapter: a WAP message is delivered by being stored (the person's WAP inbox
shows it), so the dispatcher marks it delivered at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from pydantic import SecretStr

from channels import CHANNELS, config_from_mapping
from channels.base import Channel
from core.errors import ConfigError
from core.notices import ChannelKind
from hub.settings import ChannelsSettings

__all__ = ["WAP_PROVIDER", "ChannelRegistry", "adapter_configs", "open_channels"]

WAP_PROVIDER = "wap"


@dataclass(kw_only=True)
class ChannelRegistry:
    """Adapters by medium, the provider name behind each, and the shared HTTP session."""

    adapters: Mapping[ChannelKind, Channel]
    providers: Mapping[ChannelKind, str]
    session: aiohttp.ClientSession | None = None
    _closed: bool = field(default=False, repr=False)

    def adapter(self, channel: ChannelKind | str) -> Channel | None:
        """The adapter for ``channel``; ``None`` when the medium is not configured (or is WAP)."""
        return self.adapters.get(ChannelKind(channel))

    def provider(self, channel: ChannelKind | str) -> str:
        """The provider name used for rate limits, circuit breakers and the message log."""
        kind = ChannelKind(channel)
        return self.providers.get(kind, kind.value)

    async def aclose(self) -> None:
        """Close every adapter, then the shared session; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for adapter in self.adapters.values():
            await adapter.aclose()
        if self.session is not None and not self.session.closed:
            await self.session.close()


def _success_rule(rule: str) -> dict[str, str]:
    """``channels.sms.http.success_rule`` as ``"path=value"`` (e.g. ``"code=0"``)."""
    if not rule:
        return {}
    path, sep, value = rule.partition("=")
    if not sep or not path.strip():
        raise ConfigError(
            f"channels.sms.http.success_rule: {rule!r} must look like 'path=value', e.g. 'code=0'"
        )
    return {"success_path": path.strip(), "success_value": value.strip()}


# The media other than SMS: built only when their section says ``enabled``.
_OPTIONAL: tuple[tuple[ChannelKind, str], ...] = (
    (ChannelKind.EMAIL, "email"),
    (ChannelKind.WECOM, "wecom"),
    (ChannelKind.WECHAT_MP, "wechat_mp"),
)


def _fields(section: Any, provider: str) -> dict[str, Any]:
    """The section's values of ``provider``'s config fields: secrets revealed, mappings copied.

    The section was made from the same config class (hub/settings.py:
    ``provider_section``), so the names match by construction.
    """
    config: dict[str, Any] = {}
    for item in dataclasses.fields(CHANNELS[provider].config_type):
        if not hasattr(section, item.name):
            continue  # built by the hub instead (the HTTP gateway's headers)
        value = getattr(section, item.name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Mapping):
            value = dict(value)
        config[item.name] = value
    return config


def adapter_configs(settings: ChannelsSettings) -> dict[ChannelKind, tuple[str, dict[str, Any]]]:
    """Each enabled medium's provider name and adapter config mapping, from ``[channels]``."""
    sms = settings.sms
    found: dict[ChannelKind, tuple[str, dict[str, Any]]] = {}
    if sms.provider in ("aliyun", "tencent"):
        found[ChannelKind.SMS] = (sms.provider, _fields(getattr(sms, sms.provider), sms.provider))
    elif sms.provider == "http":
        token = sms.http.token.get_secret_value()
        found[ChannelKind.SMS] = (
            "http",
            {
                **_fields(sms.http, "http"),
                "headers": {"Authorization": f"Bearer {token}"} if token else {},
                **_success_rule(sms.http.success_rule),
            },
        )
    else:
        found[ChannelKind.SMS] = ("console", {})
    for kind, name in _OPTIONAL:
        section = getattr(settings, name)
        if section.enabled:
            found[kind] = (name, _fields(section, name))
    return found


_SECTIONS = {
    "aliyun": "channels.sms.aliyun",
    "tencent": "channels.sms.tencent",
    "http": "channels.sms.http",
    "console": "channels.sms",
    "email": "channels.email",
    "wecom": "channels.wecom",
    "wechat_mp": "channels.wechat_mp",
}


async def open_channels(
    settings: ChannelsSettings,
    *,
    clock: Callable[[], datetime],
    session: aiohttp.ClientSession | None = None,
) -> ChannelRegistry:
    """Build every configured adapter around one shared session (opened here unless given).

    Raises :class:`ConfigError` naming the key when a provider's settings are unusable.
    """
    owned = session is None
    shared = session or aiohttp.ClientSession()
    adapters: dict[ChannelKind, Channel] = {}
    providers: dict[ChannelKind, str] = {ChannelKind.WAP: WAP_PROVIDER}
    try:
        for kind, (provider, mapping) in adapter_configs(settings).items():
            cls = CHANNELS[provider]
            config = config_from_mapping(cls.config_type, mapping, section=_SECTIONS[provider])
            adapters[kind] = cls(config, session=shared, clock=clock)  # type: ignore[arg-type]
            providers[kind] = provider
    except BaseException:
        if owned:
            await shared.close()
        raise
    return ChannelRegistry(
        adapters=adapters, providers=providers, session=shared if owned else None
    )
