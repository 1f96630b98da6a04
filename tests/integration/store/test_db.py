"""Migrations and the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from hub.store import db


async def test_two_concurrent_migrators_apply_each_migration_once(empty_database_url: str) -> None:
    """Two processes starting at once both succeed and the schema is applied exactly once."""
    conns = [await asyncpg.connect(empty_database_url) for _ in range(2)]
    try:
        applied = await asyncio.gather(*(db.migrate(c) for c in conns))
        assert sorted(applied, key=len) == [[], [m.version for m in db.migrations()]]
        rows = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in db.migrations()]
        assert await db.migrate(conns[0]) == []
        assert await db.schema_version(conns[0]) == db.latest_version()
    finally:
        for conn in conns:
            await conn.close()


async def test_migrations_are_numbered_uniquely_in_order() -> None:
    """Migration files carry distinct numbers from 0001 up, so their order is never in doubt."""
    versions = [m.version for m in db.migrations()]
    assert versions[0] == 1
    assert versions == sorted(set(versions))


def test_embedded_server_is_reused_for_the_same_data_dir(pg_data_dir: Path) -> None:
    """Asking twice for the embedded server under one data_dir gives the same running server."""
    pgdata = db.embedded_pgdata(pg_data_dir / "data")
    first = db.embedded_url(pgdata)
    second = db.embedded_url(pgdata)
    assert first == second
    assert (pgdata / "PG_VERSION").is_file()


async def test_a_release_resets_the_session_unless_it_was_left_untouched(
    database_url: str,
) -> None:
    """A plain release undoes a SET; acquire_untouched skips that round trip (the SET made
    here on purpose survives), and an open transaction is rolled back either way."""
    pool = await db.create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'changed'")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") != "changed"
        async with db.acquire_untouched(pool) as conn:
            await conn.execute("SET application_name = 'kept'")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "kept"
        async with db.acquire_untouched(pool) as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (x int)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT to_regclass('left_open')") is None
    finally:
        await pool.close()
