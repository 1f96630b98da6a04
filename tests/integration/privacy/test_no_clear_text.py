"""After the demo tour, no mobile number, e-mail address or applicant name is stored in clear.

The tour (hub/demo/tour.py: twelve cases through their nodes, replies, a poor rating
and its rectification, digests, a monthly report) runs on this test's database; then
every text, JSON and array column of every table is read directly, and so is every
line the hub logged, looking for a mainland mobile number, an e-mail address or one of
the demo applicants' names. Masked forms (138****5678, 张*) are not clear text.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import asyncpg
from aiohttp import web

from hub.app import create_app, running
from hub.clock import ManualClock
from hub.demo import tour
from hub.demo.directory import APPLICANTS
from hub.keys import SERVICES, TEST_CLOCK_HOOKS
from hub.logging import configure_logging
from hub.settings import Settings

MOBILE = r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
TEXTUAL = ("text", "jsonb", "json", "character varying", "ARRAY")


async def _clear_columns(url: str) -> dict[str, str]:
    """Each ``table.column`` holding clear personal data, with one example value."""
    names = [f"%{name}%" for name in APPLICANTS]
    found: dict[str, str] = {}
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type = ANY($1::text[])"
            " ORDER BY table_name, column_name",
            list(TEXTUAL),
        )
        for table, column in columns:
            value = await conn.fetchval(
                f'SELECT "{column}"::text FROM "{table}"'  # noqa: S608 - names from the catalogue
                f' WHERE "{column}"::text ~ $1 OR "{column}"::text ~ $2'
                f' OR "{column}"::text LIKE ANY($3::text[]) LIMIT 1',
                MOBILE,
                EMAIL,
                names,
            )
            if value is not None:
                found[f"{table}.{column}"] = value[:160]
    finally:
        await conn.close()
    return found


def _clear_log_lines(text: str) -> list[str]:
    pattern = re.compile(f"{MOBILE}|{EMAIL}|{'|'.join(APPLICANTS)}")
    return [line[:200] for line in text.splitlines() if pattern.search(line)]


async def test_the_demo_leaves_no_personal_data_in_clear(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """Every table, every column, every log line: no mobile, e-mail or applicant name."""
    logs = io.StringIO()
    configure_logging("debug", "json", stream=logs)
    handler = logging.StreamHandler(logs)
    logging.getLogger().addHandler(handler)
    try:
        clock = ManualClock(tour.START)
        app: web.Application = create_app(settings, clock=clock, database_url=database_url)
        async with running(app):
            await tour._walk(app[SERVICES], app[TEST_CLOCK_HOOKS], clock, io.StringIO(), 0)
    finally:
        logging.getLogger().removeHandler(handler)
        configure_logging("info", "console", stream=io.StringIO())
    assert "notice_sent" in logs.getvalue()  # the hub did log what it did

    clear = await _clear_columns(database_url)
    lines = _clear_log_lines(logs.getvalue())
    assert (clear, lines) == ({}, []), (
        "clear personal data in:\n"
        + "\n".join(f"  {column}: {example!r}" for column, example in clear.items())
        + "\nand in the logs:\n"
        + "\n".join(lines[:20])
    )
