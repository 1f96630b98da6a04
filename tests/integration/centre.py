"""A hub started the way a centre starts it: from a config file, providers filled in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import load_settings
from tests.conftest import ADMIN_KEY, Api
from tests.integration import events as ev

CALLBACK_TOKEN = "callback-token-e2e"


def sms_section(provider: str, fields: Mapping[str, str], templates: Mapping[str, str]) -> str:
    """``[channels.sms.<provider>]`` with its keys and the kind → template code table."""
    lines = [f'{key} = "{value}"' for key, value in fields.items()]
    codes = [f'{kind} = "{code}"' for kind, code in templates.items()]
    return (
        f'[channels.sms]\nprovider = "{provider}"\n\n'
        f"[channels.sms.{provider}]\n" + "\n".join(lines) + "\n\n"
        f"[channels.sms.{provider}.templates]\n" + "\n".join(codes) + "\n"
    )


@asynccontextmanager
async def centre_hub(
    folder: Path, database_url: str, *, start: datetime, extra: str
) -> AsyncIterator[Api]:
    """The hub on a manual clock at ``start``, configured by a TOML file plus ``extra``."""
    config = folder / "cuiban.toml"
    config.write_text(
        f"""
[database]
data_dir = "{folder / "data"}"

[http]
public_base_url = "https://zw.gov.cn"

[auth]
api_keys = ["{ADMIN_KEY}"]
callback_token = "{CALLBACK_TOKEN}"

[clock]
mode = "manual"
start = "{start.isoformat()}"

{extra}
""",
        "utf-8",
    )
    settings = load_settings(config, environ={})
    app = create_app(settings, clock=ManualClock(start), database_url=database_url)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


async def accept_then_ready(
    api: Api, case_no: str, *, start: datetime, **accepted_fields: Any
) -> None:
    """A case accepted at ``start``, ready for pickup a minute later; each send drained."""
    accepted = ev.accepted(case_no, start.isoformat(), **accepted_fields)
    status, _ = await api.post("/v1/events", accepted)
    assert status == 202
    await api.post("/v1/test-clock/advance", {"by": "PT1M"})
    ready = ev.simple(
        "case.ready_for_pickup",
        case_no,
        (start + timedelta(minutes=1)).isoformat(),
        location="3号窗口",
        hours="工作日9-17时",
        documents=["身份证"],
    )
    await api.post("/v1/events", ready)
    await api.post("/v1/test-clock/advance", {"by": "PT1M"})
