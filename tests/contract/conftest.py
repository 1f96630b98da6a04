"""Fixtures for the channel contract suite: each adapter paired with its loopback fake.

A :class:`Harness` bundles an adapter, the fake it talks to, a message the
adapter can deliver, and the fake's failure switch, so one test body runs
against every adapter (style rule 6).
"""

from __future__ import annotations

import io
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from channels.aliyun import AliyunConfig, AliyunSms
from channels.base import Channel
from channels.console import ConsoleChannel, ConsoleConfig
from channels.email import EmailChannel, EmailConfig
from channels.http_sms import HttpSms, HttpSmsConfig
from channels.render import EXAMPLES, compose
from channels.tencent import TencentConfig, TencentSms
from channels.wechat_mp import WeChatMp, WeChatMpConfig
from channels.wecom import WeComApp, WeComConfig
from core.notices import ChannelKind, NoticeKind, OutboundMessage
from tests.fakes.aliyun import FakeAliyun
from tests.fakes.http_sms import FakeGateway
from tests.fakes.smtp import FakeSmtp
from tests.fakes.tencent import FakeTencent
from tests.fakes.weixin import FakeWeChatMp, FakeWeCom

NOW = datetime(2025, 3, 12, 1, 30, 0, tzinfo=UTC)  # 09:30 in Beijing
TIMEOUT = 0.3  # seconds: short and explicit, so "hang" tests stay fast
MOBILE = "13812345678"

SECRETS = {
    "aliyun": "aliyun-secret-do-not-log",
    "tencent": "tencent-secret-do-not-log",
    "email": "smtp-password-do-not-log",
    "wecom": "wecom-secret-do-not-log",
    "wechat_mp": "wechat-secret-do-not-log",
    "http": "gateway-token-do-not-log",
}


def clock() -> datetime:
    return NOW


def message(
    kind: NoticeKind = NoticeKind.CASE_ACCEPTED,
    channel: ChannelKind = ChannelKind.SMS,
    recipient: str = MOBILE,
    message_id: str = "msg-0001",
) -> OutboundMessage:
    return compose(
        message_id=message_id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        context=EXAMPLES[kind],
        person_id="p-1",
    )


@dataclass
class Harness:
    """One adapter wired to its fake."""

    name: str
    channel: Channel
    message: OutboundMessage
    fail: Callable[..., None]
    accepted: Callable[[], list[Any]]  # what the provider took, as it saw it
    seen_id: Callable[[Any], str] | None  # our message id as the provider recorded it, if kept
    fake: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


# --- one factory per adapter --------------------------------------------------------


def aliyun_config(url: str, **overrides: Any) -> AliyunConfig:
    values: dict[str, Any] = {
        "endpoint": url,
        "access_key_id": "LTAI-test",
        "access_key_secret": SECRETS["aliyun"],
        "sign_name": "某市政务服务中心",
        "templates": {"case_accepted": "SMS_0001", "pickup_notice": "SMS_0002"},
        "timeout": TIMEOUT,
        "max_param_chars": 64,
    }
    return AliyunConfig(**{**values, **overrides})


async def make_aliyun(session: aiohttp.ClientSession) -> Harness:
    fake = await FakeAliyun(
        key_id="LTAI-test",
        secret=SECRETS["aliyun"],
        sign_names={"某市政务服务中心"},
        templates={"SMS_0001", "SMS_0002"},
    ).start()
    return Harness(
        name="aliyun",
        channel=AliyunSms(aliyun_config(fake.url), session=session, clock=clock),
        message=message(),
        fail=fake.fail,
        accepted=lambda: fake.requests,
        seen_id=lambda r: r["OutId"],
        fake=fake,
    )


def tencent_config(url: str, **overrides: Any) -> TencentConfig:
    values: dict[str, Any] = {
        "endpoint": url,
        "secret_id": "AKID-test",
        "secret_key": SECRETS["tencent"],
        "sdk_app_id": "1400000001",
        "sign_name": "某市政务服务中心",
        "templates": {"case_accepted": "100001", "pickup_notice": "100002"},
        "timeout": TIMEOUT,
    }
    return TencentConfig(**{**values, **overrides})


async def make_tencent(session: aiohttp.ClientSession) -> Harness:
    fake = await FakeTencent(
        secret_id="AKID-test",
        secret_key=SECRETS["tencent"],
        app_id="1400000001",
        templates={"100001", "100002"},
        now=NOW.timestamp(),
    ).start()
    return Harness(
        name="tencent",
        channel=TencentSms(tencent_config(fake.url), session=session, clock=clock),
        message=message(),
        fail=fake.fail,
        accepted=lambda: fake.requests,
        seen_id=lambda r: r["SessionContext"],
        fake=fake,
    )


async def make_http(session: aiohttp.ClientSession) -> Harness:
    fake = await FakeGateway(token=SECRETS["http"]).start()
    config = HttpSmsConfig(
        url=f"{fake.url}/sms/send",
        headers={"Authorization": f"Bearer {SECRETS['http']}"},
        sign_name="某市政务服务中心",
        transient_codes=("BUSY",),
        timeout=TIMEOUT,
    )
    return Harness(
        name="http",
        channel=HttpSms(config, session=session, clock=clock),
        message=message(),
        fail=fake.fail,
        accepted=lambda: fake.requests,
        seen_id=lambda r: r["msg_id"],
        fake=fake,
    )


def wecom_config(url: str, **overrides: Any) -> WeComConfig:
    values: dict[str, Any] = {
        "api_base": url,
        "corp_id": "ww-test",
        "corp_secret": SECRETS["wecom"],
        "agent_id": 1000002,
        "timeout": TIMEOUT,
    }
    return WeComConfig(**{**values, **overrides})


async def make_wecom(session: aiohttp.ClientSession) -> Harness:
    fake = await FakeWeCom(
        corp_id="ww-test", corp_secret=SECRETS["wecom"], agent_id=1000002, users={"wangwei"}
    ).start()
    return Harness(
        name="wecom",
        channel=WeComApp(wecom_config(fake.url), session=session, clock=clock),
        message=message(NoticeKind.NODE_OVERDUE, ChannelKind.WECOM, "wangwei"),
        fail=fake.fail,
        accepted=lambda: fake.requests,
        seen_id=None,  # WeCom's API has no field for a caller's message id
        fake=fake,
    )


def wechat_config(url: str, **overrides: Any) -> WeChatMpConfig:
    values: dict[str, Any] = {
        "api_base": url,
        "app_id": "wx-test",
        "app_secret": SECRETS["wechat_mp"],
        "templates": {"case_accepted": "TPL-accepted", "pickup_notice": "TPL-pickup"},
        "timeout": TIMEOUT,
    }
    return WeChatMpConfig(**{**values, **overrides})


async def make_wechat_mp(session: aiohttp.ClientSession) -> Harness:
    fake = await FakeWeChatMp(
        app_id="wx-test",
        app_secret=SECRETS["wechat_mp"],
        templates={"TPL-accepted", "TPL-pickup"},
        followers={"o-follower-1"},
    ).start()
    return Harness(
        name="wechat_mp",
        channel=WeChatMp(wechat_config(fake.url), session=session, clock=clock),
        message=message(channel=ChannelKind.WECHAT_MP, recipient="o-follower-1"),
        fail=fake.fail,
        accepted=lambda: fake.requests,
        seen_id=lambda r: r["client_msg_id"],
        fake=fake,
    )


def email_config(port: int, **overrides: Any) -> EmailConfig:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "username": "cuiban",
        "password": SECRETS["email"],
        "tls": "none",
        "from_addr": "noreply@zw.example.gov.cn",
        "from_name": "某市政务服务中心",
        "timeout": TIMEOUT,
    }
    return EmailConfig(**{**values, **overrides})


async def make_email(session: aiohttp.ClientSession) -> Harness:
    fake = FakeSmtp(username="cuiban", password=SECRETS["email"]).start()
    return Harness(
        name="email",
        channel=EmailChannel(email_config(fake.port), clock=clock),
        message=message(channel=ChannelKind.EMAIL, recipient="zhang.san@example.com"),
        fail=fake.fail,
        accepted=lambda: fake.requests,
        seen_id=lambda mail: str(mail["Message-ID"]).strip("<>").split("@")[0],
        fake=fake,
    )


async def make_console(session: aiohttp.ClientSession) -> Harness:
    stream = io.StringIO()

    def fail(*faults: str) -> None:
        raise pytest.skip.Exception("the console cannot fail")

    def accepted() -> list[str]:
        return [block for block in stream.getvalue().split("── ") if block]

    return Harness(
        name="console",
        channel=ConsoleChannel(
            ConsoleConfig(stream=stream, sign_name="某市政务服务中心"), clock=clock
        ),
        message=message(),
        fail=fail,
        accepted=accepted,
        seen_id=lambda block: block.split("[", 1)[1].split("]", 1)[0],
        extra={"stream": stream},
    )


FACTORIES = {
    "aliyun": make_aliyun,
    "tencent": make_tencent,
    "http": make_http,
    "console": make_console,
    "email": make_email,
    "wecom": make_wecom,
    "wechat_mp": make_wechat_mp,
}


async def _close(harness: Harness) -> None:
    await harness.channel.aclose()
    fake = harness.fake
    if isinstance(fake, FakeSmtp):
        fake.stop()
    elif fake is not None:
        await fake.close()


@pytest.fixture(params=list(FACTORIES))
async def harness(
    request: pytest.FixtureRequest, session: aiohttp.ClientSession
) -> AsyncIterator[Harness]:
    built = await FACTORIES[request.param](session)
    try:
        yield built
    finally:
        await _close(built)


@pytest.fixture
async def aliyun(session: aiohttp.ClientSession) -> AsyncIterator[Harness]:
    built = await make_aliyun(session)
    yield built
    await _close(built)


@pytest.fixture
async def tencent(session: aiohttp.ClientSession) -> AsyncIterator[Harness]:
    built = await make_tencent(session)
    yield built
    await _close(built)


@pytest.fixture
async def wecom(session: aiohttp.ClientSession) -> AsyncIterator[Harness]:
    built = await make_wecom(session)
    yield built
    await _close(built)


@pytest.fixture
async def wechat(session: aiohttp.ClientSession) -> AsyncIterator[Harness]:
    built = await make_wechat_mp(session)
    yield built
    await _close(built)


@pytest.fixture
async def email(session: aiohttp.ClientSession) -> AsyncIterator[Harness]:
    built = await make_email(session)
    yield built
    await _close(built)


@pytest.fixture
async def http_gateway(session: aiohttp.ClientSession) -> AsyncIterator[Harness]:
    built = await make_http(session)
    yield built
    await _close(built)


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, made with the openssl CLI (skip without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603 -- fixed arguments, test-only
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def server_tls(self_signed_cert: tuple[Path, Path]) -> ssl.SSLContext:
    cert, key = self_signed_cert
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
