"""Shared pieces of the dispatch tests: settings wired to the loopback fakes, notices, the log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from channels.render import EXAMPLES
from core.notices import ChannelKind, NoticeKind
from hub.api import messages as messages_api
from hub.notices.outbox import Address, Notice, enqueue
from hub.privacy.vault import DataKey, Vault
from hub.settings import ChannelsSettings, Settings

ALIYUN_KEY_ID = "LTAI-dispatch"
ALIYUN_SECRET = "aliyun-dispatch-secret"
SIGN = "某市政务服务中心"
TEMPLATES = {
    "case_accepted": "SMS_0001",
    "pickup_notice": "SMS_0002",
    "urge": "SMS_0003",
    "node_overdue": "SMS_0004",
}
MOBILE = "13812345678"
#: For dispatchers built without an app: the rows they send are sealed with this key.
TEST_VAULT = Vault(DataKey.from_hex("5a" * 32))


def with_channels(settings: Settings, **channels: Any) -> Settings:
    """``settings`` with ``[channels]`` replaced (validated like a config file would be)."""
    return settings.model_copy(update={"channels": ChannelsSettings.model_validate(channels)})


def aliyun_channels(url: str) -> dict[str, Any]:
    return {
        "sms": {
            "provider": "aliyun",
            "aliyun": {
                "endpoint": url,
                "access_key_id": ALIYUN_KEY_ID,
                "access_key_secret": ALIYUN_SECRET,
                "sign_name": SIGN,
                "templates": TEMPLATES,
            },
        }
    }


def ensure_message_routes(app: web.Application) -> None:
    """Add ``GET /v1/messages`` unless create_app already did."""
    if not any(
        getattr(route.resource, "canonical", None) == "/v1/messages"
        for route in app.router.routes()
    ):
        app.add_routes(messages_api.routes)


def notice(
    key: str,
    *addresses: tuple[ChannelKind, str],
    kind: NoticeKind = NoticeKind.CASE_ACCEPTED,
    not_before: datetime,
    priority: int = 0,
) -> Notice:
    return Notice(
        kind=kind,
        dedupe_key=key,
        addresses=[Address(channel=c, recipient=r) for c, r in addresses],
        # A short link: Aliyun limits each template variable to 35 characters by default.
        context={**EXAMPLES[kind], "link": "https://zw.gov.cn/c/1"},
        not_before=not_before,
        case_no="ZW-2026-0001",
        person_id=f"p-{key}",
        priority=priority,
    )


async def put(
    pool: asyncpg.Pool,
    notices: Sequence[Notice],
    *,
    now: datetime,
    max_attempts: int = 8,
    vault: Vault = TEST_VAULT,
) -> int:
    """Queue ``notices`` sealed with ``vault`` (the app's, when an app's dispatcher sends)."""
    async with pool.acquire() as conn, conn.transaction():
        return await enqueue(conn, notices, now=now, max_attempts=max_attempts, vault=vault)
