"""Across New Year and the Spring Festival on the manual clock: nothing stalls, provisional
dates are shown as such, and an official 2027 imported mid-January updates each affected
deadline, timer and applicant exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from tests.conftest import Api, opened_rows
from tests.integration import events as ev
from tests.integration.planning.test_planner import setup_department

TZ = ZoneInfo("Asia/Shanghai")

# Hand-made "official" 2027: the Spring Festival runs 5–12 February (the Eve to day 7),
# with Sunday 14 and Saturday 20 February worked (调休); 元旦 1–3 January.
OFFICIAL_2027 = """
year = 2027
source = "测试：国务院办公厅关于2027年部分节假日安排的通知（手工）"

[[holidays]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03

[[holidays]]
name = "春节"
from = 2027-02-05
to = 2027-02-12

[[make_up_workdays]]
name = "春节"
date = 2027-02-14

[[make_up_workdays]]
name = "春节"
date = 2027-02-20
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def advance_daily(api: Api, start: datetime, end: datetime) -> list[str]:
    """Advance to 09:30 and 17:00 of every day; every answer is 200 with nothing set aside."""
    seen = []
    day = start
    while day <= end:
        for hour in (9.5, 17):
            moment = day + timedelta(hours=hour)
            status, body = await api.post("/v1/test-clock/advance", {"to": moment.isoformat()})
            assert status == 200, body
            assert body["set_aside"] == [], body
            seen.append(body["now"])
        day += timedelta(days=1)
    return seen


async def test_a_hub_crosses_new_year_and_the_spring_festival(api: Api, database_url: str) -> None:
    """1 Dec 2026 to 28 Feb 2027 with cases, nodes and escalations crossing both holidays."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-12-01T09:00").isoformat()})
    status, ready = await api.get("/readyz", key=None)
    assert status == 200 and ready["status"] == "ready"
    assert ready["calendar"]["year"] == 2027 and ready["calendar"]["provisional"] is True

    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("N-1", at("2026-12-10T10:00").isoformat(), limit=20),
                ev.node_started("N-1", "n1", at("2026-12-28T10:00").isoformat(), limit=3),
                ev.accepted("S-1", at("2026-12-30T10:00").isoformat(), limit=30),
                ev.node_started("S-1", "n1", at("2026-12-30T11:00").isoformat(), limit=25),
            ]
        },
    )
    _, s1 = await api.get("/v1/cases/S-1")
    assert s1["provisional"] is True and s1["nodes"][0]["provisional"] is True
    provisional_due = s1["due_date"]
    metrics = await api.client.get("/metrics")
    assert 'cuiban_calendar_year_missing{year="2027"} 1' in await metrics.text()

    # New Year passes; N-1's node (due 31 Dec) escalates into January without a stall.
    await advance_daily(api, at("2026-12-01T00:00"), at("2027-01-14T00:00"))

    status, body = await api.put("/v1/calendar/years/2027", {"file": OFFICIAL_2027})
    assert status == 200, body
    _, s1_after = await api.get("/v1/cases/S-1")
    assert s1_after["provisional"] is False
    assert s1_after["due_date"] != provisional_due
    status, ready = await api.get("/readyz", key=None)
    assert "calendar" not in ready  # 2027 official; 2028 not yet due for a warning

    await advance_daily(api, at("2027-01-15T00:00"), at("2027-02-28T00:00"))

    conn = await asyncpg.connect(database_url)
    try:
        changed = opened_rows(
            await conn.fetch(
                "SELECT case_no, body, sealed FROM messages WHERE kind = 'promised_date_changed'"
                " AND channel = 'sms'"
            )
        )
        # S-1's date moved (two more days off, two Saturdays worked): told once; N-1's
        # 14 January date did not move: not told.
        assert [r["case_no"] for r in changed] == ["S-1"]
        assert s1_after["due_date"] in changed[0]["body"]
        # N-1's node went overdue on 31 Dec and was chased up the ladder into January.
        ladder = await conn.fetch(
            "SELECT step, fired_at FROM timers WHERE case_no = 'N-1' AND kind = 'node_overdue'"
            " AND status = 'fired' ORDER BY step"
        )
        assert [r["step"] for r in ladder] == [0, 1, 2, 3, 4]
        assert ladder[-1]["fired_at"].astimezone(TZ).year == 2027
        # S-1's node timers follow the official date: the overdue one fired on it.
        due_node = at(s1_after["nodes"][0]["due_at"][:19])
        overdue = await conn.fetchval(
            "SELECT min(fire_at) FROM timers WHERE case_no = 'S-1' AND node_id = 'n1'"
            " AND kind = 'node_overdue' AND status = 'fired'"
        )
        assert overdue is not None and overdue > due_node
        assert await conn.fetchval("SELECT count(*) FROM timers WHERE status = 'set_aside'") == 0
        accepted = opened_rows(
            [
                await conn.fetchrow(
                    "SELECT body, sealed FROM messages"
                    " WHERE case_no = 'S-1' AND kind = 'case_accepted'"
                    " AND channel = 'sms'"
                )
            ]
        )[0]["body"]
        assert "暂按法定节假日推算" in accepted
        # Supervisors heard once a week that 2027 was missing, until it was imported.
        warned = opened_rows(
            await conn.fetch(
                "SELECT person_id, created_at, body, sealed FROM messages"
                " WHERE kind = 'calendar_missing'"
                " AND channel = 'sms' ORDER BY created_at"
            )
        )
        assert {r["person_id"] for r in warned} == {"p-sup"}
        weeks = [r["created_at"].astimezone(TZ).isocalendar()[:2] for r in warned]
        # From calendar.warn_from (1 November) to the import: one a week, never two.
        assert len(weeks) == len(set(weeks))
        assert weeks[0] >= (2026, 44) and weeks[-1] == (2027, 2)
        assert all(r["created_at"] >= at("2026-11-01T00:00") for r in warned)
        assert all(r["created_at"] < at("2027-01-15T00:00") for r in warned)
        assert "2027" in warned[0]["body"]
    finally:
        await conn.close()
