"""WeChat official account (公众号) template messages: ``token`` + ``message/template/send``.

* ``GET /cgi-bin/token?grant_type=client_credential&appid=&secret=``
* ``POST /cgi-bin/message/template/send?access_token=`` with ``touser`` (the
  openid), ``template_id`` (per notice kind, from config), ``url`` (the WAP
  page), ``data`` (``{"key": {"value": "..."}}`` from ``templates/<kind>/wechat_mp.j2``)
  and ``client_msg_id`` = our message id, which WeChat uses to drop a resend.
* 40001/40014/42001: a new token and one retry. 43004 (the person does not
  follow the account), 43101 (refuses messages), 40003 (bad openid):
  permanent, so the dispatcher moves on to the fallback channel.
* Since 2023 WeChat caps value lengths by key type (``thing`` 20 characters,
  ``character_string`` 32, ``phrase`` 5); longer values are cut here rather
  than refused there.

A fetched token invalidates the account's previous one within minutes, so
several processes must not each fetch their own; the hub should run WeChat
sends in the worker role only (see docs/decisions/0002-channels.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlencode

from channels.base import (
    HttpRequest,
    ProviderPermanent,
    ProviderTransient,
    template_for,
)
from channels.tokens import TokenedAdapter, post_json
from core.notices import ChannelKind, OutboundMessage

__all__ = ["ERRORS", "WeChatMp", "WeChatMpConfig", "build_request", "build_token_request"]


@dataclass(frozen=True, kw_only=True, slots=True)
class WeChatMpConfig:
    """``[channels.wechat_mp]``; ``templates`` maps a notice kind to its template id."""

    api_base: str = "https://api.weixin.qq.com"
    app_id: str
    app_secret: str = field(repr=False)
    templates: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "templates", MappingProxyType(dict(self.templates)))


# One table: WeChat errcode -> what the outbox should do (全局返回码).
ERRORS: Mapping[int, type[ProviderTransient] | type[ProviderPermanent]] = {
    -1: ProviderTransient,  # system busy
    45009: ProviderTransient,  # daily API quota reached
    45011: ProviderTransient,  # API minute quota
    40001: ProviderPermanent,  # (token) wrong AppSecret
    40013: ProviderPermanent,  # invalid AppID
    40125: ProviderPermanent,  # invalid AppSecret
    40164: ProviderPermanent,  # caller IP not in the whitelist
    40003: ProviderPermanent,  # invalid openid
    40036: ProviderPermanent,  # invalid template_id size
    40037: ProviderPermanent,  # invalid template_id
    43004: ProviderPermanent,  # require subscribe: the person does not follow the account
    43101: ProviderPermanent,  # the person refuses template messages
    47001: ProviderPermanent,  # malformed data
    47003: ProviderPermanent,  # argument invalid (data does not match the template)
}

# WeChat's 2023 template-message value limits, by key type (thing1, phrase3, ...).
VALUE_LIMITS: Mapping[str, int] = {"thing": 20, "character_string": 32, "phrase": 5}
_KEY_TYPE = re.compile(r"^([a-z_]+?)\d+$")


def _fit(key: str, value: str) -> str:
    match = _KEY_TYPE.match(key)
    limit = VALUE_LIMITS.get(match.group(1)) if match else None
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def build_token_request(config: WeChatMpConfig) -> HttpRequest:
    """``GET /cgi-bin/token``."""
    query = urlencode(
        {"grant_type": "client_credential", "appid": config.app_id, "secret": config.app_secret}
    )
    return HttpRequest(method="GET", url=f"{config.api_base.rstrip('/')}/cgi-bin/token?{query}")


def build_request(
    config: WeChatMpConfig, message: OutboundMessage, *, access_token: str
) -> HttpRequest:
    """``POST /cgi-bin/message/template/send`` for ``message.recipient`` (an openid)."""
    template_id = template_for(
        config.templates,
        message,
        provider="wechat_mp",
        what="template id",
        section="channels.wechat_mp",
    )
    body: dict[str, Any] = {
        "touser": message.recipient,
        "template_id": template_id,
        "data": {key: {"value": _fit(key, value)} for key, value in message.params.items()},
        "client_msg_id": message.id,
    }
    if message.link:
        body["url"] = message.link
    return post_json(
        config.api_base, "/cgi-bin/message/template/send", body, access_token=access_token
    )


class WeChatMp(TokenedAdapter[WeChatMpConfig]):
    """Sends WeChat official-account template messages to a follower's openid."""

    kind: ClassVar[ChannelKind | None] = ChannelKind.WECHAT_MP
    provider: ClassVar[str] = "wechat_mp"
    config_type: ClassVar[type[WeChatMpConfig]] = WeChatMpConfig
    ERRORS = ERRORS

    def _token_request(self) -> HttpRequest:
        return build_token_request(self.config)

    def _send_request(self, message: OutboundMessage, token: str) -> HttpRequest:
        return build_request(self.config, message, access_token=token)
