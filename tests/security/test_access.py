"""Every /v1 route, discovered from the router, refuses callers without the right key or token.

A refused request must change nothing: the tests count the rows of every
table before and after. Route discovery means a route added later is covered
without editing this file.
"""

from __future__ import annotations

import io
import re
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from hub.api import auth
from hub.settings import ApiKey
from tests.conftest import INGEST_KEY, SUPERVISOR_KEY, Api

ROLE_KEYS = {"ingest": INGEST_KEY, "supervisor": SUPERVISOR_KEY}
PUBLIC = ("/v1/callbacks/", "/v1/openapi.json")


def v1_routes(app: web.Application) -> list[tuple[str, str, frozenset[str]]]:
    """(method, a concrete path, roles allowed) for each keyed /v1 route."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = info.get("path") or info.get("formatter") or ""
        if not template.startswith("/v1/") or template.startswith(PUBLIC):
            continue
        if route.method == "HEAD":
            continue
        path = re.sub(r"\{[^}]+\}", "X-1", template)
        allowed = getattr(route.handler, "cuiban_roles", frozenset({"admin"}))
        found.append((route.method, path, allowed))
    return sorted(set(found))


async def table_counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        return {
            t: await conn.fetchval(f'SELECT count(*) FROM "{t}"')  # noqa: S608 -- catalog names
            for t in tables
        }
    finally:
        await conn.close()


BODY: dict[str, Any] = {"name": "x", "by": "p-1", "note": "x", "events": [], "to": "2027-01-01"}


async def test_every_v1_route_refuses_missing_wrong_and_wrong_role_keys(
    api: Api, app: web.Application, database_url: str
) -> None:
    """No key and a wrong key get 401, a key of a role not allowed 403, and no row changes."""
    routes = v1_routes(app)
    assert len(routes) >= 10, routes  # events, cases, people, departments, messages, stats ...
    before = await table_counts(database_url)
    checked = 0
    for method, path, allowed in routes:
        for header in ({}, {"Authorization": "Bearer wrong-key-0001"}, {"Authorization": "x"}):
            resp = await api.client.request(method, path, json=BODY, headers=header)
            assert resp.status == 401, (method, path, header, resp.status)
            assert resp.content_type == "application/problem+json"
            checked += 1
        for role, key in ROLE_KEYS.items():
            if role in allowed:
                continue
            resp = await api.client.request(
                method, path, json=BODY, headers={"Authorization": f"Bearer {key}"}
            )
            assert resp.status == 403, (method, path, role, resp.status)
            checked += 1
    assert await table_counts(database_url) == before
    print(f"{len(routes)} routes, {checked} refused requests, 0 rows changed")


CALLBACKS = [
    "/v1/callbacks/sms/aliyun/report",
    "/v1/callbacks/sms/aliyun/up",
    "/v1/callbacks/sms/tencent/status",
    "/v1/callbacks/sms/tencent/reply",
]


@pytest.mark.parametrize("query", ["", "?token=", "?token=change-me-to", "?token=CHANGE-ME-TOO"])
async def test_callbacks_without_the_right_token_are_refused_and_change_nothing(
    api: Api, database_url: str, query: str
) -> None:
    """Every callback route answers 403 to a missing or wrong token and stores nothing."""
    before = await table_counts(database_url)
    before.pop("wap_limits")  # the guess is counted against the client address; nothing else
    up = [{"phone_number": "13812345678", "content": "TD", "send_time": "2026-03-02 09:00:00"}]
    for path in CALLBACKS:
        resp = await api.client.post(f"{path}{query}", json=up)
        assert resp.status == 403, (path, query, resp.status)
    after = await table_counts(database_url)
    after.pop("wap_limits")
    assert after == before


async def test_a_client_guessing_callback_tokens_is_locked_out(api: Api) -> None:
    """20 wrong tokens in an hour lock the client out with 429, the right token too; the right
    token alone never counts."""
    path = "/v1/callbacks/sms/tencent/status"
    for _ in range(30):  # right tokens give their count back
        resp = await api.client.post(f"{path}?token=change-me-too", json=[])
        assert resp.status == 200
    for i in range(20):
        resp = await api.client.post(f"{path}?token=guess-{i}", json=[])
        assert resp.status == 403
    resp = await api.client.post(f"{path}?token=guess-21", json=[])
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "3600"
    resp = await api.client.post(f"{path}?token=change-me-too", json=[])
    assert resp.status == 429  # a lucky guess now would not be told apart


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/events", 413),
        ("/v1/callbacks/sms/aliyun/report?token=change-me-too", 413),
        ("/wap/lookup", 413),  # a form may be 8 KiB: refused by its announced size, unread
    ],
)
async def test_bodies_over_one_mebibyte_are_refused_on_public_and_keyed_routes(
    api: Api, database_url: str, path: str, status: int
) -> None:
    """A body over 1 MiB is refused (413 once read) on the API, the callbacks and WAP forms."""
    before = await table_counts(database_url)
    before.pop("wap_limits")
    resp = await api.client.post(
        path,
        data=io.BytesIO(b"[" + b" " * (1024 * 1024) + b"]"),
        headers={"Authorization": "Bearer admin-key-0001", "Content-Type": "application/json"},
    )
    assert resp.status == status, await resp.text()
    after = await table_counts(database_url)
    after.pop("wap_limits")
    assert after == before


def test_every_configured_key_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """key_for runs hmac.compare_digest against every configured key, even after a match."""
    keys = [ApiKey(key=f"key-{i:04d}-secret", role="admin") for i in range(5)]
    compared: list[bytes] = []

    class RecordingHmac:
        @staticmethod
        def compare_digest(a: bytes, b: bytes) -> bool:
            compared.append(b)
            import hmac

            return hmac.compare_digest(a, b)

    monkeypatch.setattr(auth, "hmac", RecordingHmac)
    for offered in ("key-0000-secret", "key-0004-secret", "nope"):
        compared.clear()
        found = auth.key_for(f"Bearer {offered}", keys)
        assert (found.key.get_secret_value() if found else None) == (
            offered if offered != "nope" else None
        )
        assert compared == [k.key.get_secret_value().encode() for k in keys]
