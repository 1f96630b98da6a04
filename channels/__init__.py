"""Channel adapters: one module per provider behind one Protocol (``channels.base.Channel``).

The registry is explicit — no plugin discovery. Keys are the names used in
configuration (``channels.sms.provider = "aliyun"``) plus one per other channel.
Each class is built as ``cls(config, *, session=..., clock=...)`` where
``config`` is an instance of ``cls.config_type``; see docs/decisions/0002-channels.md.
"""

from __future__ import annotations

from channels.aliyun import AliyunConfig, AliyunSms
from channels.base import Channel, DeliveryUnknown, Receipt, config_from_mapping
from channels.console import ConsoleChannel, ConsoleConfig
from channels.email import EmailChannel, EmailConfig
from channels.http_sms import HttpSms, HttpSmsConfig
from channels.tencent import TencentConfig, TencentSms
from channels.wechat_mp import WeChatMp, WeChatMpConfig
from channels.wecom import WeComApp, WeComConfig

__all__ = [
    "CHANNELS",
    "SMS_PROVIDERS",
    "AliyunConfig",
    "AliyunSms",
    "Channel",
    "ConsoleChannel",
    "ConsoleConfig",
    "DeliveryUnknown",
    "EmailChannel",
    "EmailConfig",
    "HttpSms",
    "HttpSmsConfig",
    "Receipt",
    "TencentConfig",
    "TencentSms",
    "WeChatMp",
    "WeChatMpConfig",
    "WeComApp",
    "WeComConfig",
    "config_from_mapping",
]

CHANNELS: dict[
    str,
    type[AliyunSms | TencentSms | HttpSms | ConsoleChannel | EmailChannel | WeComApp | WeChatMp],
] = {
    "aliyun": AliyunSms,
    "tencent": TencentSms,
    "http": HttpSms,
    "console": ConsoleChannel,
    "email": EmailChannel,
    "wecom": WeComApp,
    "wechat_mp": WeChatMp,
}

# The values ``channels.sms.provider`` may take.
SMS_PROVIDERS = ("aliyun", "tencent", "http", "console")
