"""Shared fixtures: a real PostgreSQL for the whole run, a fresh database per test.

The server is the embedded one (pgserver) unless ``CUIBAN_TEST_DATABASE_URL``
points at another; each test gets its own database cloned from a migrated
template, so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import ManualClock
from hub.keys import VAULT
from hub.notices.sealing import opened
from hub.privacy.keys import load_vault
from hub.privacy.vault import DataKey, Vault
from hub.settings import Settings, load_settings
from hub.store import db

TEMPLATE = "cuiban_test_template"
_counter = itertools.count()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def pg_data_dir() -> Iterator[Path]:
    """A directory for an embedded PostgreSQL's data.

    Not pytest's tmp_path: the server runs as another user when tests run as
    root, and pytest resets its temp root to mode 0700, shutting that user out.
    """
    path = Path(tempfile.mkdtemp(prefix="cuiban-pg-"))
    try:
        yield path
    finally:
        db.stop_embedded(db.embedded_pgdata(path / "data"))
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database."""
    external = os.environ.get("CUIBAN_TEST_DATABASE_URL")
    if external:
        yield external
        return
    root = Path(tempfile.mkdtemp(prefix="cuiban-pg-session-"))
    try:
        yield db.embedded_url(root / "data")
    finally:
        db.stop_embedded(root / "data")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_database(pg_server_url: str) -> str:
    conn = await asyncpg.connect(pg_server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await conn.close()
    template = await asyncpg.connect(_with_database(pg_server_url, TEMPLATE))
    try:
        await db.migrate(template)
    finally:
        await template.close()
    return TEMPLATE


async def _admin(pg_server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(pg_server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _scratch_database(
    pg_server_url: str, prefix: str, template: str | None
) -> AsyncIterator[str]:
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    clause = f' TEMPLATE "{template}"' if template else ""
    await _admin(pg_server_url, f'CREATE DATABASE "{name}"{clause}')
    yield _with_database(pg_server_url, name)
    await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(pg_server_url: str, template_database: str) -> AsyncIterator[str]:
    """A freshly migrated database of its own for one test."""
    async for url in _scratch_database(pg_server_url, "cuiban_test", template_database):
        yield url


@pytest.fixture
async def empty_database_url(pg_server_url: str) -> AsyncIterator[str]:
    """A database with no schema at all, for migration tests."""
    async for url in _scratch_database(pg_server_url, "cuiban_empty", None):
        yield url


ADMIN_KEY = "admin-key-0001"
INGEST_KEY = "ingest-key-0001"
SUPERVISOR_KEY = "supervisor-key-0001"  # centre-wide: departments = ["*"]
SCJG_SUPERVISOR_KEY = "supervisor-key-scjg"  # departments = ["SCJG"]
PERSON_SUPERVISOR_KEY = "supervisor-key-zhou"  # person = "p-zhou": the departments they supervise
UNBOUND_SUPERVISOR_KEY = "supervisor-key-none"  # neither: no department's access log
START = datetime.fromisoformat("2026-03-02T09:00:00+08:00")


#: The data key of every test hub built from ``settings``: tests that read the database
#: directly open what it sealed with :data:`TEST_VAULT` (:func:`opened_rows`).
TEST_DATA_KEY = "7e57" * 16
TEST_VAULT = Vault(DataKey.from_hex(TEST_DATA_KEY))


def opened_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` rows as the hub reads them: recipient, body, fallbacks... in clear."""
    return [opened(TEST_VAULT, row) for row in rows]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(_write_config(tmp_path), environ={})


def _write_config(tmp_path: Path) -> Path:
    path = tmp_path / "cuiban.toml"
    path.write_text(
        f"""
[database]
data_dir = "{tmp_path / "data"}"

[auth]
api_keys = ["{ADMIN_KEY}", {{key = "{INGEST_KEY}", role = "ingest"}},
            {{key = "{SUPERVISOR_KEY}", role = "supervisor", departments = ["*"]}},
            {{key = "{SCJG_SUPERVISOR_KEY}", role = "supervisor", departments = ["SCJG"]}},
            {{key = "{PERSON_SUPERVISOR_KEY}", role = "supervisor", person = "p-zhou"}},
            {{key = "{UNBOUND_SUPERVISOR_KEY}", role = "supervisor"}}]

[clock]
mode = "manual"
start = "{START.isoformat()}"

[privacy]
data_key = "{TEST_DATA_KEY}"
""",
        "utf-8",
    )
    return path


@pytest.fixture
def vault(settings: Settings) -> Vault:
    """The key the app of ``settings`` seals with (``[privacy] data_key`` of the test config)."""
    return load_vault(settings.privacy, data_dir=settings.database.data_dir, allow_generated=True)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def app(settings: Settings, clock: ManualClock, database_url: str) -> web.Application:
    return create_app(settings, clock=clock, database_url=database_url)


class Api:
    """A test client that speaks as one role by default."""

    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client

    @property
    def vault(self) -> Vault:
        """The app's vault: rows a test writes directly are sealed as the hub seals them."""
        return self.client.server.app[VAULT]

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def post(
        self, path: str, body: object, *, key: str | None = ADMIN_KEY
    ) -> tuple[int, dict]:
        resp = await self.client.post(path, json=body, headers=self._headers(key))
        return resp.status, await resp.json(content_type=None)

    async def put(
        self, path: str, body: object, *, key: str | None = ADMIN_KEY
    ) -> tuple[int, dict]:
        resp = await self.client.put(path, json=body, headers=self._headers(key))
        return resp.status, await resp.json(content_type=None)

    async def get(self, path: str, *, key: str | None = ADMIN_KEY) -> tuple[int, dict]:
        resp = await self.client.get(path, headers=self._headers(key))
        return resp.status, await resp.json(content_type=None)


@pytest.fixture
async def api(app: web.Application) -> AsyncIterator[Api]:
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()
