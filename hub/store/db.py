"""PostgreSQL: the embedded default (pgserver), connection pools, and migrations.

With ``database.url`` empty Cuiban runs a real PostgreSQL from the ``pgserver``
wheel under ``database.data_dir`` and reuses it on the next start. Migrations
are the numbered files in ``hub/store/sql/migrations``; each runs in its own
transaction under an advisory lock, so two processes starting at once apply
each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import itertools
import json
import os
import re
import subprocess
import time
import warnings
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import structlog

from core.errors import ConfigError, CuibanError

log = structlog.get_logger(__name__)

# Any constant shared by every Cuiban process; "cuiban" in ASCII.
MIGRATION_LOCK = 0x637569_62616E
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class DatabaseUnavailable(CuibanError):
    """PostgreSQL cannot be reached."""


@dataclass(frozen=True, kw_only=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    folder = importlib.resources.files("hub.store").joinpath("sql", "migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(
                Migration(version=int(match[1]), name=match[2], sql=entry.read_text("utf-8"))
            )
    found.sort(key=lambda m: m.version)
    for first, second in itertools.pairwise(found):
        # Two files with one number: the second would be skipped as "already applied".
        if first.version == second.version:
            raise RuntimeError(
                f"migrations {first.name!r} and {second.name!r} share the number {first.version}"
            )
    return found


def latest_version() -> int:
    return migrations()[-1].version


_embedded: dict[Path, Any] = {}


def embedded_url(data_dir: Path, *, start_timeout: float = 120.0) -> str:
    """Start (or reuse) the embedded PostgreSQL under ``data_dir`` and return its URL."""
    data_dir = data_dir.expanduser().resolve()
    server = _embedded.get(data_dir)
    if server is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        log.info("embedded_postgres_starting", data_dir=str(data_dir))
        server = _start_embedded(data_dir, start_timeout)
        _embedded[data_dir] = server
    return str(server.get_uri())


def _start_embedded(data_dir: Path, start_timeout: float) -> Any:
    # Imported lazily: only the embedded default needs pgserver. platformdirs warns
    # when XDG_RUNTIME_DIR is unset and falls back to /tmp, which is what we want.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from pgserver.postgres_server import PostgresServer, get_server

    deadline = time.monotonic() + start_timeout
    while True:
        try:
            # cleanup_mode="stop": the server stops when the last process using it exits;
            # the data stays for the next start.
            return get_server(data_dir, cleanup_mode="stop")
        except (subprocess.TimeoutExpired, AssertionError) as exc:
            # pgserver gives pg_ctl a fixed 10 s; on a busy machine the server is still
            # starting. Forget the half-made handle and look again until it is ready.
            PostgresServer._instances.pop(data_dir, None)
            if time.monotonic() > deadline:
                raise DatabaseUnavailable(
                    f"the embedded PostgreSQL under {data_dir} did not start within "
                    f"{start_timeout:.0f} s; see {data_dir / 'log'}"
                ) from exc
            log.warning("embedded_postgres_slow_start", data_dir=str(data_dir))
            time.sleep(1)


def stop_embedded(data_dir: Path) -> None:
    """Stop the embedded server this process started (it also stops on exit)."""
    server = _embedded.pop(data_dir.expanduser().resolve(), None)
    if server is not None:
        server.cleanup()


def embedded_pgdata(data_dir: Path) -> Path:
    """The cluster lives in its own folder: Cuiban keeps other files under data_dir too."""
    return data_dir / "postgres"


def check_data_dir(data_dir: Path) -> None:
    """Refuse, naming the key, a ``database.data_dir`` that cannot be created or written."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"database.data_dir: cannot create {data_dir}: {exc.strerror or exc}"
        ) from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"database.data_dir: {data_dir} is not writable")


async def resolve_url(url: str, data_dir: Path) -> str:
    if url:
        return url
    check_data_dir(data_dir)
    return await asyncio.to_thread(embedded_url, embedded_pgdata(data_dir))


def encode_json(value: Any) -> str:
    """JSON for a ``jsonb`` parameter: orjson (about 10x the standard library here, see
    docs/decisions/0017-orjson.md); the standard library for what orjson refuses, such
    as integers beyond 64 bits."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


#: PostgreSQL's binary ``jsonb``: a version byte, then the JSON text in UTF-8.
_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + _json_bytes(value)


def _decode_jsonb(data: bytes) -> Any:
    return orjson.loads(memoryview(data)[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary: orjson's UTF-8 goes to the socket as it is, with no str in between.
    await conn.set_type_codec(
        "json", encoder=_json_bytes, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


# Set while a connection is used by code that leaves its session as it found it.
_SESSION_UNTOUCHED: ContextVar[bool] = ContextVar("cuiban_session_untouched", default=False)


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """asyncpg's reset on release (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL``), skipped for :func:`acquire_untouched`: one round trip fewer each time.

    asyncpg has already rolled back an open transaction and dropped the listener
    callbacks before this runs, whichever way it goes.
    """
    if _SESSION_UNTOUCHED.get():
        return
    query = conn.get_reset_query()
    if query:
        await conn.execute(query)


@contextlib.asynccontextmanager
async def acquire_untouched(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """``pool.acquire()`` for statements that change no session state — no ``SET``,
    ``LISTEN``, session advisory lock or open cursor (transaction-scoped locks are fine):
    the connection goes back to the pool without the reset round trip. The dispatcher's
    claims, heartbeats and outcome writes take one per batch (issue 18)."""
    token = _SESSION_UNTOUCHED.set(True)
    try:
        async with pool.acquire() as conn:
            yield conn
    finally:
        _SESSION_UNTOUCHED.reset(token)


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            reset=_reset_connection,
            command_timeout=60,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    assert pool is not None
    return pool


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply missing migrations; return the versions applied by this call."""
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("migration_applied", version=migration.version, name=migration.name)
            applied.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied


async def schema_version(conn: asyncpg.Connection) -> int | None:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return None
    version: int | None = await conn.fetchval("SELECT max(version) FROM schema_migrations")
    return version
