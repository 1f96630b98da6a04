"""The tick never stalls: a timer that cannot fire is set aside on its own, the rest fire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.calendar import WorkingCalendar
from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import Settings
from hub.store.calendars import bundled_years
from tests.conftest import Api, opened_rows
from tests.integration import events as ev
from tests.integration.planning.test_planner import setup_department

TZ = ZoneInfo("Asia/Shanghai")
CASES = 1000
BAD = 10


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
async def api_2026(
    settings: Settings, clock: ManualClock, database_url: str, tmp_path: Path
) -> AsyncIterator[Api]:
    """A hub whose calendar knows 2026 alone (a narrow one, so a year can be missing)."""
    only_2026 = WorkingCalendar(y for y in bundled_years() if y.year == 2026)
    app: web.Application = create_app(
        settings, clock=clock, calendar=only_2026, database_url=database_url
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


async def test_ten_uncomputable_timers_of_a_thousand_are_set_aside_and_990_fire(
    api_2026: Api, database_url: str
) -> None:
    """1,000 overdue timers in one tick, 10 counting days in a year the calendar lacks:
    the advance answers 200, 990 fire, the 10 are set aside with the year and reported,
    supervisors hear once, and the next tick does not report them again."""
    api = api_2026
    await setup_department(api)
    start = at("2026-03-02T10:00").isoformat()
    events = []
    for i in range(CASES):
        events += [
            ev.accepted(f"T-{i:04d}", start),
            ev.node_started(f"T-{i:04d}", "n1", start, limit=1),
        ]
    for chunk in (events[:1000], events[1000:]):
        status, body = await api.post("/v1/events", {"events": chunk})
        assert status == 202, body
    status, _ = await api.post("/v1/test-clock/advance", {"to": at("2026-03-03T12:00").isoformat()})
    assert status == 200
    bad = [f"T-{i:04d}" for i in range(0, CASES, CASES // BAD)]
    conn = await asyncpg.connect(database_url)
    try:
        # As if these nodes' dates had come from a hub with a longer calendar.
        await conn.execute(
            "UPDATE nodes SET due_date = '2025-12-30' WHERE case_no = ANY($1::text[])", bad
        )
        status, body = await api.post(
            "/v1/test-clock/advance", {"to": at("2026-03-04T09:00").isoformat()}
        )
        assert status == 200, body
        assert sorted(item["case_no"] for item in body["set_aside"]) == bad
        assert {item["year"] for item in body["set_aside"]} == {2025}
        assert all("2025" in item["error"] for item in body["set_aside"])
        counts = dict(
            await conn.fetch(
                "SELECT status, count(*) FROM timers WHERE kind = 'node_overdue' AND step = 0"
                " GROUP BY status"
            )
        )
        assert counts == {"fired": CASES - BAD, "set_aside": BAD}
        errors = await conn.fetch(
            "SELECT case_no, error FROM timers WHERE status = 'set_aside' ORDER BY case_no"
        )
        assert [r["case_no"] for r in errors] == bad
        # The 990 fired: each chained its next escalation step (to the head).
        chained = await conn.fetchval(
            "SELECT count(*) FROM timers WHERE kind = 'node_overdue' AND step = 1"
        )
        assert chained == CASES - BAD
        told = opened_rows(
            await conn.fetch(
                "SELECT person_id, case_no, body, sealed FROM messages"
                " WHERE kind = 'deadline_unknown'"
                " AND channel = 'sms' ORDER BY case_no"
            )
        )
        assert {r["person_id"] for r in told} == {"p-sup"}
        assert [r["case_no"] for r in told] == bad  # once per case
        assert all("2025" in r["body"] for r in told)
        status, body = await api.post("/v1/test-clock/advance", {"by": "P1D"})
        assert status == 200
        assert body["set_aside"] == []
        assert body["fired"] == CASES - BAD  # the 990 escalate to the head; the 10 wait
        again = await conn.fetchval("SELECT count(*) FROM messages WHERE kind = 'deadline_unknown'")
        assert again == len(told)  # still once per case
    finally:
        await conn.close()


async def test_a_set_aside_timer_is_retried_when_its_case_changes(
    api_2026: Api, database_url: str
) -> None:
    """A new event of the case re-plans it: the set-aside timer is pending again."""
    api = api_2026
    await setup_department(api)
    start = at("2026-03-02T10:00").isoformat()
    await api.post(
        "/v1/events",
        {"events": [ev.accepted("T-1", start), ev.node_started("T-1", "n1", start, limit=1)]},
    )
    conn = await asyncpg.connect(database_url)
    try:
        await api.post("/v1/test-clock/advance", {"to": at("2026-03-03T12:00").isoformat()})
        await conn.execute("UPDATE nodes SET due_date = '2025-12-30' WHERE case_no = 'T-1'")
        _, body = await api.post(
            "/v1/test-clock/advance", {"to": at("2026-03-04T09:00").isoformat()}
        )
        assert [item["case_no"] for item in body["set_aside"]] == ["T-1"]
        await api.post(
            "/v1/events",
            ev.simple(
                "case.extended",
                "T-1",
                at("2026-03-04T09:30").isoformat(),
                limit={"value": 1, "unit": "working_days"},
                approved_by="p-head",
            ),
        )
        statuses = {
            r["status"] for r in await conn.fetch("SELECT status FROM timers WHERE case_no = 'T-1'")
        }
        assert "set_aside" not in statuses
    finally:
        await conn.close()
