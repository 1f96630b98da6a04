"""Per-client limits behind a reverse proxy see the real client (issue 13, item 6)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import ManualClock
from hub.keys import SETTINGS
from hub.settings import Settings
from tests.conftest import START, Api
from tests.integration import wap_data as data
from tests.integration.wap_data import OPEN_CASE, QUERY_CODE, csrf_of

GUESSER = "198.51.100.66"
PROVIDER = "203.0.113.10"
REPORT = "/v1/callbacks/sms/aliyun/report"


def _behind(settings: Settings, proxies: list[str]) -> Settings:
    http = settings.http.model_copy(update={"trusted_proxies": tuple(map(ip_network, proxies))})
    return settings.model_copy(update={"http": http})


async def _client(
    settings: Settings, database_url: str, proxies: list[str]
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(
        _behind(settings, proxies), clock=ManualClock(START), database_url=database_url
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def proxied(
    settings: Settings, database_url: str
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The hub behind a reverse proxy on 127.0.0.1 (the test client's address)."""
    async for client in _client(settings, database_url, ["127.0.0.1/32"]):
        yield client


@pytest.fixture
async def direct(
    settings: Settings, database_url: str
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The hub with no trusted proxy (the default)."""
    async for client in _client(settings, database_url, []):
        yield client


async def _push(
    client: TestClient[web.Request, web.Application], token: str, forwarded_for: str
) -> int:
    resp = await client.post(
        f"{REPORT}?token={token}",
        data=json.dumps([]),
        headers={"X-Forwarded-For": forwarded_for, "Content-Type": "application/json"},
    )
    await resp.read()
    return resp.status


def _token(client: TestClient[web.Request, web.Application]) -> str:
    return client.server.app[SETTINGS].auth.callback_token.get_secret_value()


async def test_a_token_guesser_behind_the_proxy_does_not_lock_out_the_provider(
    proxied: TestClient[web.Request, web.Application],
) -> None:
    """Twenty wrong tokens lock out the guesser's address only; the provider's receipts,
    through the same proxy, still go in."""
    for _ in range(20):
        assert await _push(proxied, "wrong-token", GUESSER) == 403
    assert await _push(proxied, "wrong-token", GUESSER) == 429
    assert await _push(proxied, _token(proxied), GUESSER) == 429
    assert await _push(proxied, _token(proxied), PROVIDER) == 200


async def test_without_trusted_proxies_a_forwarded_header_changes_nothing(
    direct: TestClient[web.Request, web.Application],
) -> None:
    """A client that writes a new X-Forwarded-For on every guess is still one client."""
    for n in range(20):
        assert await _push(direct, "wrong-token", f"198.51.100.{n}") == 403
    assert await _push(direct, "wrong-token", "198.51.100.200") == 429


async def test_wrong_lookups_lock_out_one_client_not_everyone_behind_the_proxy(
    proxied: TestClient[web.Request, web.Application],
) -> None:
    """Twenty wrong query codes from one applicant behind the proxy lock that applicant out;
    another applicant behind the same proxy still opens a case."""
    await data.seed(Api(proxied))

    async def lookup(forwarded_for: str, case_no: str, code: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        page = await (await proxied.get("/wap/", headers=headers)).text()
        resp = await proxied.post(
            "/wap/lookup",
            data={"csrf": csrf_of(page), "case_no": case_no, "query_code": code},
            headers=headers,
            allow_redirects=False,
        )
        await resp.read()
        return resp.status

    for n in range(20):
        assert await lookup(GUESSER, f"GUESS-{n}", "123456") == 422
    assert await lookup(GUESSER, OPEN_CASE, QUERY_CODE) == 429
    assert await lookup(PROVIDER, OPEN_CASE, QUERY_CODE) == 303
