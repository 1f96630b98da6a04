"""Importing a year while running: deadlines, timers and applicants updated once, in bulk."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from tests.conftest import SUPERVISOR_KEY, Api, opened_rows
from tests.integration import events as ev
from tests.integration.planning.test_planner import setup_department

TZ = ZoneInfo("Asia/Shanghai")

# A hand-made "official" 2027: 元旦 1–3 January, an extra 11–12 January off, and
# Saturday 16 January a 调休 make-up workday.
OFFICIAL_2027 = """
year = 2027
source = "测试用通知"

[[holidays]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03

[[holidays]]
name = "测试假日"
from = 2027-01-11
to = 2027-01-12

[[make_up_workdays]]
name = "测试假日"
date = 2027-01-16
"""


def at(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).isoformat()


async def test_an_imported_year_moves_dates_and_tells_each_applicant_once(
    api: Api, database_url: str
) -> None:
    """A provisional date is replaced by the official one, timers follow, and each applicant
    whose date moved or appeared hears once; importing the same file again changes nothing."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-12-20T10:00")})
    status, _ = await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("Y-1", at("2026-12-20T10:00"), limit=20),
                ev.node_started("Y-1", "n1", at("2026-12-20T10:30"), limit=15),
                ev.accepted("Y-2", at("2026-12-20T10:00"), limit=2),  # due in 2026: untouched
            ]
        },
    )
    assert status == 202
    _, before = await api.get("/v1/cases/Y-1")
    assert (before["due_date"], before["provisional"]) == ("2027-01-18", True)
    assert before["nodes"][0]["provisional"] is True

    status, body = await api.put("/v1/calendar/years/2027", {"file": OFFICIAL_2027})
    assert status == 200, body
    assert body["replanned"]["moved"] == 1

    _, after = await api.get("/v1/cases/Y-1", key=SUPERVISOR_KEY)
    # Two more days off (11, 12 Jan), one Saturday worked (16 Jan): one day later.
    assert (after["due_date"], after["provisional"]) == ("2027-01-19", False)
    assert after["nodes"][0]["provisional"] is False
    _, untouched = await api.get("/v1/cases/Y-2")
    assert untouched["due_date"] == before["due_date"] or untouched["provisional"] is False

    conn = await asyncpg.connect(database_url)
    try:
        sms = opened_rows(
            await conn.fetch(
                "SELECT case_no, body, sealed FROM messages WHERE kind = 'promised_date_changed'"
                " AND channel = 'sms'"
            )
        )
        assert [r["case_no"] for r in sms] == ["Y-1"]
        assert "2027-01-19" in sms[0]["body"] and "2027-01-18" in sms[0]["body"]
        overdue = await conn.fetchval(
            "SELECT fire_at FROM timers WHERE case_no = 'Y-1' AND node_id = ''"
            " AND kind = 'case_overdue' AND status = 'pending'"
        )
        assert overdue.astimezone(TZ).date().isoformat() == "2027-01-20"

        status, body = await api.put("/v1/calendar/years/2027", {"file": OFFICIAL_2027})
        assert status == 200 and body["replanned"]["moved"] == 0
        again = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE kind = 'promised_date_changed' AND channel = 'sms'"
        )
        assert again == 1
    finally:
        await conn.close()
    status, years = await api.get("/v1/calendar/years")
    assert [(y["year"], y["provisional"]) for y in years["items"][-2:]] == [
        (2027, False),
        (2028, True),
    ]


async def test_a_bad_year_file_is_refused_and_changes_nothing(api: Api) -> None:
    """A malformed file, or one for another year than the path, is a 422 naming the fault."""
    status, body = await api.put("/v1/calendar/years/2027", {"file": "year = 'x'"})
    assert status == 422
    status, body = await api.put("/v1/calendar/years/2028", {"file": OFFICIAL_2027})
    assert status == 422 and "2027" in body["detail"]
    status, _ = await api.put(
        "/v1/calendar/years/2027", {"file": OFFICIAL_2027}, key=SUPERVISOR_KEY
    )
    assert status == 403
