"""WeCom (企业微信) application messages: ``gettoken`` + ``message/send`` text cards.

* ``GET /cgi-bin/gettoken?corpid=&corpsecret=`` -> ``access_token``, ``expires_in``
* ``POST /cgi-bin/message/send?access_token=`` with ``msgtype: textcard``
  (title ≤ 128 bytes, description ≤ 512 bytes, ``url`` = the WAP page); a
  plain ``text`` message when there is no link.
* ``errcode`` 40014/42001/40001 on send: fetch a new token, retry once.
* A recipient listed in ``invaliduser`` (or ``unlicenseduser``) is permanent
  for that person: the call "succeeds" but nobody receives it.
* WeCom silently drops messages beyond 30 per member per minute / 1000 per
  hour; the dispatcher must batch into digests rather than rely on this adapter.
* ``enable_duplicate_check`` (30 min) makes an at-least-once resend after a
  lost answer harmless.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from channels.base import (
    HttpRequest,
    ProviderPermanent,
    ProviderTransient,
    Receipt,
)
from channels.tokens import TokenedAdapter, post_json, utf8_truncate
from core.notices import ChannelKind, OutboundMessage

__all__ = [
    "ERRORS",
    "WeComApp",
    "WeComConfig",
    "build_request",
    "build_token_request",
    "escaped",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class WeComConfig:
    """``[channels.wecom]``."""

    api_base: str = "https://qyapi.weixin.qq.com"
    corp_id: str
    corp_secret: str = field(repr=False)
    agent_id: int
    timeout: float = 10.0
    button_text: str = "详情"
    duplicate_check_seconds: int = 1800


# One table: WeCom errcode -> what the outbox should do (global return codes,
# https://developer.work.weixin.qq.com/document/path/90313). 40001/40014/42001
# on a send are handled before this table: new token, one retry.
ERRORS: Mapping[int, type[ProviderTransient] | type[ProviderPermanent]] = {
    -1: ProviderTransient,  # system busy
    6000: ProviderTransient,  # data version conflict
    45009: ProviderTransient,  # API call frequency limit
    45033: ProviderTransient,  # too many concurrent calls
    40001: ProviderPermanent,  # (gettoken) invalid corp secret
    40013: ProviderPermanent,  # invalid corp id
    40003: ProviderPermanent,  # invalid userid
    40031: ProviderPermanent,  # invalid userid list
    40056: ProviderPermanent,  # invalid agentid
    44004: ProviderPermanent,  # empty text
    45002: ProviderPermanent,  # content too long
    48002: ProviderPermanent,  # API forbidden for this app
    60020: ProviderPermanent,  # server IP not in the app's trusted list
    81013: ProviderPermanent,  # user, party and tag all invalid
    82001: ProviderPermanent,  # no recipient in the app's visible range
}


def build_token_request(config: WeComConfig) -> HttpRequest:
    """``GET /cgi-bin/gettoken``."""
    query = urlencode({"corpid": config.corp_id, "corpsecret": config.corp_secret})
    return HttpRequest(method="GET", url=f"{config.api_base.rstrip('/')}/cgi-bin/gettoken?{query}")


def escaped(text: str, max_bytes: int) -> str:
    """``text`` as WeCom shows it literally, at most ``max_bytes`` UTF-8 bytes.

    A textcard description is rendered as markup (``<div class="gray">``, ``<br>``)
    and a text message turns ``<a href>`` into a link: a name or a note holding
    ``<div>`` or ``<a>`` must not restyle the card or plant a link. The cut never
    leaves half an entity (``&am``) behind.
    """
    cut = utf8_truncate(html.escape(text, quote=False), max_bytes)
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut


def build_request(
    config: WeComConfig, message: OutboundMessage, *, access_token: str
) -> HttpRequest:
    """``POST /cgi-bin/message/send``: a text card linking to the WAP page."""
    title = message.subject or message.body.partition("\n")[0]
    body: dict[str, Any] = {
        "touser": message.recipient,
        "agentid": config.agent_id,
        "enable_duplicate_check": 1 if config.duplicate_check_seconds else 0,
        "duplicate_check_interval": config.duplicate_check_seconds,
    }
    if message.link:
        body["msgtype"] = "textcard"
        body["textcard"] = {
            "title": utf8_truncate(title, 128),
            "description": escaped(message.body, 512),
            "url": message.link,
            "btntxt": config.button_text,
        }
    else:
        body["msgtype"] = "text"
        body["text"] = {"content": escaped(f"{title}\n{message.body}", 2048)}
    return post_json(config.api_base, "/cgi-bin/message/send", body, access_token=access_token)


class WeComApp(TokenedAdapter[WeComConfig]):
    """Sends WeCom application messages to a member's ``wecom_userid``."""

    kind: ClassVar[ChannelKind | None] = ChannelKind.WECOM
    provider: ClassVar[str] = "wecom"
    config_type: ClassVar[type[WeComConfig]] = WeComConfig
    ERRORS = ERRORS

    def _token_request(self) -> HttpRequest:
        return build_token_request(self.config)

    def _send_request(self, message: OutboundMessage, token: str) -> HttpRequest:
        return build_request(self.config, message, access_token=token)

    def _accept(self, message: OutboundMessage, payload: Mapping[str, Any]) -> Receipt:
        recipient = message.recipient.lower()
        for key in ("invaliduser", "unlicenseduser"):
            listed = str(payload.get(key) or "").lower().split("|")
            if recipient in listed:
                raise ProviderPermanent(
                    f"wecom: {message.recipient} is in {key} (not in the app's visible range "
                    "or without a licence)",
                    code=key,
                )
        return super()._accept(message, payload)
