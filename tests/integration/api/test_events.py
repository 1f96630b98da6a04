"""POST /v1/events and what the cases look like afterwards, on a real PostgreSQL."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from hub.clock import ManualClock
from hub.keys import VAULT
from hub.privacy.people import opened_person
from tests.conftest import Api
from tests.integration import events as ev

MON = "2026-03-02T10:00:00+08:00"  # Monday 2 March 2026, an ordinary working week


async def test_accepted_case_shows_deadline_level_and_masked_applicant(api: Api) -> None:
    """An accepted case is stored with its statutory deadline, and personal data is masked."""
    status, body = await api.post("/v1/events", ev.accepted("A-1", MON, limit=20))
    assert (status, body) == (202, {"accepted": 1, "duplicates": 0})

    status, case = await api.get("/v1/cases/A-1")
    assert status == 200
    assert case["status"] == "accepted"
    assert case["due_date"] == "2026-03-30"  # 20 working days after 2 March, the day not counted
    assert case["due_at"] == "2026-03-30T23:59:59+08:00"
    assert case["warn_at"] == "2026-03-27T09:00:00+08:00"
    assert case["level"] == "green"
    assert case["applicant"] == {"name": "张*", "mobile": "138****5678"}
    assert len(case["query_code"]) == 6 and case["query_code"].isdigit()
    assert [s["stage"] for s in case["stages"]] == ["decision"]


async def test_same_event_twice_counts_as_duplicate_with_no_second_effect(api: Api) -> None:
    """Resending an event (same id, same body) is acknowledged and changes nothing."""
    event = ev.simple(
        "case.extended",
        "A-2",
        "2026-03-05T10:00:00+08:00",
        limit={"value": 10, "unit": "working_days"},
        approved_by="王局长",
    )
    await api.post("/v1/events", ev.accepted("A-2", MON))
    assert await api.post("/v1/events", event) == (202, {"accepted": 1, "duplicates": 0})
    assert await api.post("/v1/events", {"events": [event, event]}) == (
        202,
        {"accepted": 0, "duplicates": 2},
    )
    _, case = await api.get("/v1/cases/A-2")
    assert case["extensions"] == [{"value": 10, "unit": "working_days"}]
    assert case["due_date"] == "2026-04-14"  # 30 working days: 4–6 April are 清明 holidays


async def test_reused_event_id_with_different_body_is_409_and_changes_nothing(api: Api) -> None:
    """An event_id reused for another event is refused with 409; the whole batch is rolled back."""
    first = ev.accepted("A-3", MON, limit=20)
    await api.post("/v1/events", first)
    altered = {**first, "limit": {"value": 5, "unit": "working_days"}}
    other = ev.accepted("A-4", MON)
    status, body = await api.post("/v1/events", {"events": [other, altered]})
    assert status == 409
    assert body["errors"][0]["field"] == "event_id"
    assert first["event_id"] in body["detail"]
    _, case = await api.get("/v1/cases/A-3")
    assert case["limit"] == {"value": 20, "unit": "working_days"}
    status, _ = await api.get("/v1/cases/A-4")
    assert status == 404


async def test_out_of_order_events_are_applied_by_occurred_at(api: Api) -> None:
    """A completion that arrives before its start still leaves the node completed."""
    done = ev.node_completed("A-5", "n1", "2026-03-04T15:00:00+08:00")
    start = ev.node_started("A-5", "n1", "2026-03-02T11:00:00+08:00")
    await api.post("/v1/events", done)
    await api.post("/v1/events", {"events": [start, ev.accepted("A-5", MON)]})
    _, case = await api.get("/v1/cases/A-5")
    (node,) = case["nodes"]
    assert node["status"] == "completed"
    assert node["level"] == "done"
    assert node["completed_at"] == "2026-03-04T15:00:00+08:00"


async def test_suspension_stops_the_clock_and_moves_deadlines(api: Api, clock: ManualClock) -> None:
    """Suspended, a case keeps its level; resumed, its deadlines move by the working days lost."""
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("A-6", MON, limit=5),
                ev.node_started("A-6", "n1", "2026-03-02T11:00:00+08:00", limit=3),
                ev.simple(
                    "case.suspended", "A-6", "2026-03-04T10:00:00+08:00", reason="expert_review"
                ),
            ]
        },
    )
    clock.advance_to(clock.now().replace(day=20))
    _, case = await api.get("/v1/cases/A-6")
    assert case["suspended"] is True
    assert case["nodes"][0]["suspended"] is True
    # Frozen at 4 March 10:00, before warn_at of 6 March: still green on 20 March.
    assert case["level"] == "green"
    assert case["due_date"] == "2026-03-09"

    await api.post("/v1/events", ev.simple("case.resumed", "A-6", "2026-03-11T09:00:00+08:00"))
    _, case = await api.get("/v1/cases/A-6")
    assert case["suspended"] is False
    # Suspended 4 March, resumed 11 March: [4, 11) holds 5 working days.
    assert case["due_date"] == "2026-03-16"
    assert case["nodes"][0]["due_date"] == "2026-03-12"


async def test_green_channel_halves_the_limit(api: Api) -> None:
    """A green-channel case gets ceil(N/2) working days."""
    await api.post("/v1/events", ev.accepted("A-7", MON, limit=7, green_channel=True))
    _, case = await api.get("/v1/cases/A-7")
    assert case["green_channel"] is True
    assert case["due_date"] == "2026-03-06"  # 4 working days


async def test_levels_follow_the_clock(api: Api, clock: ManualClock) -> None:
    """The level shown is computed at the clock's now: green, then yellow card, then red card."""
    await api.post("/v1/events", ev.accepted("A-8", MON, limit=3))  # due Thu 5 March
    from datetime import datetime

    levels = []
    for instant in (
        "2026-03-04T08:59:59+08:00",
        "2026-03-04T09:00:00+08:00",
        "2026-03-06T00:00:00+08:00",
    ):
        clock.advance_to(datetime.fromisoformat(instant))
        _, case = await api.get("/v1/cases/A-8")
        levels.append((case["level"], case["level_text"]))
    assert levels == [("green", "正常"), ("yellow", "黄牌预警"), ("red", "红牌超期")]


async def test_a_deadline_the_calendar_cannot_compute_is_kept_and_flagged(api: Api) -> None:
    """A case whose span reaches an unknown year (2028: past the provisional 2027) is
    stored and flagged deadline_unknown."""
    status, _ = await api.post(
        "/v1/events", ev.accepted("A-9", "2027-12-20T10:00:00+08:00", limit=20)
    )
    assert status == 202
    _, case = await api.get("/v1/cases/A-9")
    assert case["deadline_unknown"] is True
    assert case["due_date"] is None
    assert case["level"] is None
    assert case["provisional"] is False


async def test_a_deadline_on_the_provisional_next_year_says_so(api: Api) -> None:
    """A December case whose limit reaches 2027 gets a date from the statutory holidays,
    marked provisional on the case, its node and its decision stage."""
    start = "2026-12-20T10:00:00+08:00"
    status, _ = await api.post(
        "/v1/events",
        {"events": [ev.accepted("A-10", start, limit=20), ev.node_started("A-10", "n1", start)]},
    )
    assert status == 202
    _, case = await api.get("/v1/cases/A-10")
    assert case["deadline_unknown"] is False
    assert case["due_date"] == "2027-01-18"  # only 元旦 off on the way; no 调休 guessed
    assert case["provisional"] is True
    assert [n["provisional"] for n in case["nodes"]] == [False]  # 3 days: within 2026
    decision = next(s for s in case["stages"] if s["stage"] == "decision")
    assert decision["provisional"] is True
    _, listing = await api.get("/v1/cases")
    assert [c["provisional"] for c in listing["items"] if c["case_no"] == "A-10"] == [True]


async def test_decision_and_pickup_walk_the_statutory_stages(api: Api) -> None:
    """Application, acceptance, decision and pickup each close a stage with its own deadline."""
    applied = ev.simple(
        "case.applied",
        "A-10",
        "2026-02-26T10:00:00+08:00",
        matter={"code": "SC-101", "name": "食品经营许可"},
        department={"code": "SCJG", "name": "市场监督管理局"},
        applicant={"name": "李雷", "mobile": "+86 139-0000-2222"},
    )
    await api.post(
        "/v1/events",
        {
            "events": [
                applied,
                ev.accepted("A-10", MON, limit=20),
                ev.simple("case.decided", "A-10", "2026-03-10T10:00:00+08:00", decision="approved"),
                ev.simple(
                    "case.ready_for_pickup",
                    "A-10",
                    "2026-03-12T10:00:00+08:00",
                    location="政务服务中心3号窗口",
                ),
            ]
        },
    )
    _, case = await api.get("/v1/cases/A-10")
    stages = {s["stage"]: s for s in case["stages"]}
    # Art. 32: 5 working days — 27 Feb, the 调休 Saturday 28 Feb, 2, 3, 4 March.
    assert stages["acceptance"]["due_date"] == "2026-03-04"
    assert stages["acceptance"]["level"] == "done"
    assert stages["decision"]["completed_at"] == "2026-03-10T10:00:00+08:00"
    assert stages["issue"]["due_date"] == "2026-03-24"  # Art. 44: 10 working days
    assert stages["issue"]["level"] == "done"
    assert case["status"] == "ready_for_pickup"
    assert case["level"] == "done"
    assert case["pickup"]["location"] == "政务服务中心3号窗口"


async def test_a_limit_beyond_the_statutory_one_is_flagged(api: Api) -> None:
    """A 30-working-day limit without an approved extension exceeds Art. 42 and is flagged."""
    await api.post("/v1/events", ev.accepted("A-11", MON, limit=30))
    _, case = await api.get("/v1/cases/A-11")
    assert case["exceeds_statutory"] is True


async def test_assignee_contact_from_events_fills_people(
    api: Api, app: web.Application, database_url: str
) -> None:
    """A node's assignee becomes a person Cuiban can reach, without erasing what was PUT
    (the contacts stored sealed)."""
    await api.put(
        "/v1/people/p-li", {"name": "李四", "email": "li@example.gov.cn", "channels": ["email"]}
    )
    await api.post("/v1/events", ev.node_started("A-12", "n1", MON))
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchrow("SELECT * FROM people WHERE person_id = 'p-li'")
    finally:
        await conn.close()
    row = opened_person(app[VAULT], stored)
    assert not {stored["email"], stored["mobile"]} & {"li@example.gov.cn", "13900001111"}
    assert row["email"] == "li@example.gov.cn"
    assert row["mobile"] == "13900001111"
    assert row["channels"] == ["email"]
