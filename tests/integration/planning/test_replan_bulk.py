"""The bulk re-plan writes the deadlines a per-case projection computes on the new calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from core.cases import project_case
from core.events import EVENT_ADAPTER
from hub.app import rules_from_policy
from hub.keys import CALENDAR, SETTINGS
from tests.conftest import Api
from tests.integration import events as ev
from tests.integration.planning.test_planner import setup_department
from tests.integration.planning.test_replan import OFFICIAL_2027

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).isoformat()


def _cases() -> list[dict[str, Any]]:
    """Cases of every shape whose spans reach the imported year."""
    return [
        ev.accepted("B-wd", at("2026-12-20T10:00"), limit=20),
        ev.node_started("B-wd", "n1", at("2026-12-20T10:30"), limit=15),
        ev.accepted("B-late", at("2026-12-28T23:30"), limit=20, green_channel=True),
        ev.node_started("B-late", "n1", at("2026-12-29T09:00"), limit=None),
        ev.accepted("B-cd", at("2026-12-15T09:00"), limit=30, unit="calendar_days"),
        ev.accepted("B-h", at("2026-12-31T16:00"), limit=72, unit="hours"),
        ev.accepted("B-sus", at("2026-12-18T11:00"), limit=20),
        ev.node_started("B-sus", "n1", at("2026-12-18T11:30"), limit=10),
        ev.simple("case.suspended", "B-sus", at("2026-12-22T15:00"), reason="专家评审"),
        ev.simple("case.resumed", "B-sus", at("2027-01-05T10:00")),
        ev.accepted("B-open-sus", at("2026-12-21T10:00"), limit=20),
        ev.simple("case.suspended", "B-open-sus", at("2026-12-23T10:00"), reason="检验检测"),
        ev.accepted("B-ext", at("2026-12-10T10:00"), limit=20),
        ev.simple(
            "case.extended",
            "B-ext",
            at("2026-12-30T10:00"),
            limit={"value": 10, "unit": "working_days"},
            approved_by="局长",
        ),
        ev.node_started("B-ext", "n1", at("2026-12-10T10:30"), limit=3),
        ev.node_completed("B-ext", "n1", at("2026-12-14T10:00")),
        ev.node_started("B-ext", "n2", at("2026-12-14T10:30"), limit=25),
    ]


async def test_bulk_replan_matches_the_per_case_projection(
    app: web.Application, api: Api, database_url: str
) -> None:
    """After an import, every open case, stage and node holds the deadline that replaying its
    events on the new calendar gives — the set-based path and the per-case one agree."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2027-01-06T10:00")})
    posted = _cases()
    status, body = await api.post("/v1/events", {"events": posted})
    assert status == 202, body

    status, body = await api.put("/v1/calendar/years/2027", {"file": OFFICIAL_2027})
    assert status == 200, body
    replanned = body["replanned"]
    assert (replanned["cases"], replanned["nodes"], replanned["failed"]) == (7, 4, 0)
    assert replanned["moved"] >= 4  # most of the shapes above move with 11–12 January off

    calendar = app[CALENDAR]
    rules_for = rules_from_policy(app[SETTINGS].policy)
    by_case: dict[str, list[Any]] = {}
    for raw in posted:
        by_case.setdefault(raw["case_no"], []).append(EVENT_ADAPTER.validate_python(raw))
    conn = await asyncpg.connect(database_url)
    try:
        for case_no, events in by_case.items():
            expected = project_case(case_no, events, calendar=calendar, rules_for=rules_for)
            row = await conn.fetchrow(
                "SELECT due_date, due_at, warn_at, provisional, deadline_unknown,"
                " exceeds_statutory, stages::text AS stages FROM cases WHERE case_no = $1",
                case_no,
            )
            deadline = expected.deadline
            assert deadline is not None, case_no
            found = (row["due_date"], row["due_at"], row["warn_at"], row["provisional"])
            wanted = (deadline.due_date, deadline.due_at, deadline.warn_at, deadline.provisional)
            assert found == wanted, case_no
            assert row["deadline_unknown"] is expected.deadline_unknown, case_no
            assert row["exceeds_statutory"] is expected.exceeds_statutory, case_no
            for stage in expected.stages:
                if stage.deadline is not None:
                    assert stage.deadline.due_date.isoformat() in row["stages"], case_no
            nodes = {
                r["node_id"]: r
                for r in await conn.fetch(
                    "SELECT node_id, due_at, warn_at, provisional FROM nodes"
                    " WHERE case_no = $1 AND completed_at IS NULL",
                    case_no,
                )
            }
            for node in expected.nodes:
                if node.is_open:
                    assert node.deadline is not None, (case_no, node.node_id)
                    stored = nodes[node.node_id]
                    assert (stored["due_at"], stored["warn_at"], stored["provisional"]) == (
                        node.deadline.due_at,
                        node.deadline.warn_at,
                        node.deadline.provisional,
                    ), (case_no, node.node_id)
    finally:
        await conn.close()


async def test_a_case_the_engine_refuses_is_skipped_not_the_import(
    api: Api, database_url: str
) -> None:
    """One case whose stored inputs cannot be computed keeps its dates and is counted as
    failed; every other case is re-planned and its applicant told."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-12-20T10:00")})
    status, body = await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("G-1", at("2026-12-20T10:00"), limit=20),
                ev.accepted("G-2", at("2026-12-20T10:00"), limit=20),
            ]
        },
    )
    assert status == 202, body
    conn = await asyncpg.connect(database_url)
    try:
        # A row damaged by hand (or by a bug): its suspension no longer reads as an instant.
        await conn.execute(
            'UPDATE cases SET suspensions = \'[{"start": "not a time", "end": null}]\''
            " WHERE case_no = 'G-2'"
        )
        status, body = await api.put("/v1/calendar/years/2027", {"file": OFFICIAL_2027})
        assert status == 200, body
        assert (body["replanned"]["cases"], body["replanned"]["failed"]) == (1, 1)
        dates = dict(await conn.fetch("SELECT case_no, due_date::text FROM cases ORDER BY 1"))
        assert dates == {"G-1": "2027-01-19", "G-2": "2027-01-18"}  # G-2 kept its date
        told = await conn.fetch(
            "SELECT DISTINCT case_no FROM messages WHERE kind = 'promised_date_changed'"
        )
        assert [r["case_no"] for r in told] == ["G-1"]
    finally:
        await conn.close()
