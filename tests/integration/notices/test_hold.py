"""What a busy reviewer's phone shows: the day's first due-soon reminder when its node turns
yellow, the later ones gathered into rounds, merged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from tests.conftest import SUPERVISOR_KEY, Api, opened_rows
from tests.integration import events as ev
from tests.integration.planning.test_planner import TZ, at, setup_department


def hours_node(case_no: str, started: str, hours: int) -> dict[str, Any]:
    event = ev.node_started(case_no, "n1", at(started).isoformat())
    return event | {"limit": {"value": hours, "unit": "hours"}}


async def reviewer_sms(database_url: str, kind: str) -> list[tuple[datetime, str]]:
    """(sent at, body) of the SMS of ``kind`` that reached 李四 (p-li), in order."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = opened_rows(
            await conn.fetch(
                "SELECT sent_at, body, sealed FROM messages WHERE channel = 'sms' AND kind = $1"
                " AND person_id = 'p-li' AND status IN ('sent', 'delivered') ORDER BY sent_at",
                kind,
            )
        )
    finally:
        await conn.close()
    return [(r["sent_at"].astimezone(TZ), r["body"]) for r in rows]


async def test_the_days_first_reminder_goes_at_once_the_later_ones_merged_at_the_round(
    api: Api, database_url: str
) -> None:
    """Four 8-hour nodes turn yellow at 15:10, 15:30, 15:40 and 16:20; the 15:30 one is done
    at 15:50. 李四 hears of R-1 at 15:10 as it turns yellow (the contract's instant), of R-3
    at the 16:00 round (R-2, done, not at all), and of R-4, which cannot wait for
    tomorrow's round, at 16:20 — each true when it leaves."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T09:00").isoformat()})
    started = {"R-1": "09:10", "R-2": "09:30", "R-3": "09:40", "R-4": "10:20"}
    for case_no, moment in started.items():
        await api.post("/v1/test-clock/advance", {"to": at(f"2026-03-02T{moment}").isoformat()})
        await api.post("/v1/events", hours_node(case_no, f"2026-03-02T{moment}", 8))
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T15:50").isoformat()})
    await api.post("/v1/events", ev.node_completed("R-2", "n1", at("2026-03-02T15:50").isoformat()))
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T17:00").isoformat()})

    log = await reviewer_sms(database_url, "node_due_soon")

    assert [sent for sent, _ in log] == [
        at("2026-03-02T15:10"),
        at("2026-03-02T16:00"),
        at("2026-03-02T16:20"),
    ]
    first, second, third = (body for _, body in log)
    assert first.startswith("临期提醒：R-1（")
    assert second.startswith("临期提醒：R-3（") and "R-2" not in second
    assert third.startswith("临期提醒：R-4（")


async def test_nodes_turning_yellow_overnight_come_together_when_quiet_hours_end(
    api: Api, database_url: str
) -> None:
    """24-hour nodes started in the afternoon turn yellow at 07:00, 07:20 and 08:10: the two
    of the quiet hours reach 李四 in one SMS when they end (07:30), the third at the 09:00
    round — two SMS, none at night."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T13:00").isoformat()})
    for index, moment in enumerate(["13:00", "13:20", "14:10"], start=1):
        await api.post("/v1/test-clock/advance", {"to": at(f"2026-03-02T{moment}").isoformat()})
        await api.post("/v1/events", hours_node(f"N-{index}", f"2026-03-02T{moment}", 24))
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-03T10:00").isoformat()})

    log = await reviewer_sms(database_url, "node_due_soon")

    assert [sent for sent, _ in log] == [at("2026-03-03T07:30"), at("2026-03-03T09:00")]
    assert log[0][1].startswith("临期提醒：N-1、N-2（")
    assert log[1][1].startswith("临期提醒：N-3（")


async def test_a_reminder_that_cannot_wait_takes_the_waiting_ones_along(
    api: Api, database_url: str
) -> None:
    """李四 is told of Q-0 at 09:20; Q-2, a one-day node yellow from 11:30, then waits for
    the 14:00 round; Q-1, a 4-hour node yellow at 12:20 and due 13:20, cannot wait. One SMS
    at 12:20 names Q-1 and Q-2; nothing more at 14:00."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T09:20").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("Q-0", "n1", at("2026-03-02T09:20").isoformat(), limit=1)
    )
    await api.post("/v1/events", hours_node("Q-1", "2026-03-02T09:20", 4))
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T11:30").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("Q-2", "n1", at("2026-03-02T11:30").isoformat(), limit=1)
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T15:00").isoformat()})

    log = await reviewer_sms(database_url, "node_due_soon")

    assert [sent for sent, _ in log] == [at("2026-03-02T09:20"), at("2026-03-02T12:20")]
    assert log[0][1].startswith("临期提醒：Q-0（")
    assert log[1][1].startswith("临期提醒：Q-1、Q-2（")


async def test_a_node_arriving_after_its_round_went_waits_for_the_next(
    api: Api, database_url: str
) -> None:
    """李四 hears of R-A at 10:30 and of R-C at the 11:00 round; R-B, started at 11:00 sharp
    and posted just after that round went, is not a second SMS at 11:00: it goes at 14:00."""
    await setup_department(api)
    for case_no, moment in (("R-A", "10:30"), ("R-C", "10:40")):
        await api.post("/v1/test-clock/advance", {"to": at(f"2026-03-02T{moment}").isoformat()})
        await api.post(
            "/v1/events",
            ev.node_started(case_no, "n1", at(f"2026-03-02T{moment}").isoformat(), limit=1),
        )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T11:00").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("R-B", "n1", at("2026-03-02T11:00").isoformat(), limit=1)
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T15:00").isoformat()})

    log = await reviewer_sms(database_url, "node_due_soon")

    assert [sent for sent, _ in log] == [
        at("2026-03-02T10:30"),
        at("2026-03-02T11:00"),
        at("2026-03-02T14:00"),
    ]
    assert [body.split("（")[0] for _, body in log] == [
        "临期提醒：R-A",
        "临期提醒：R-C",
        "临期提醒：R-B",
    ]


async def test_past_twelve_reminder_sms_a_day_the_rest_reach_the_inbox(
    api: Api, database_url: str
) -> None:
    """The morning digest and thirteen 催办 of thirteen cases: 李四's phone gets twelve SMS
    (the digest counts); the last two wait in the WAP inbox the SMS link opens, each with a
    note saying why."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    started = at("2026-03-02T10:00").isoformat()
    nodes = [ev.node_started(f"U-{i:02d}", "n1", started, limit=5) for i in range(1, 14)]
    await api.post("/v1/events", {"events": nodes})
    for i in range(1, 14):
        await api.post("/v1/test-clock/advance", {"by": "PT5M"})
        status, _ = await api.post(
            f"/v1/cases/U-{i:02d}/urge", {"by": "p-sup", "note": "申请人来电"}, key=SUPERVISOR_KEY
        )
        assert status in (200, 201, 202)
    await api.post("/v1/test-clock/advance", {"by": "PT5M"})

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT kind, channel, case_no, status, note FROM messages WHERE person_id = 'p-li'"
            " AND (channel <> 'wap' OR note LIKE 'not by SMS%') ORDER BY id"
        )
    finally:
        await conn.close()
    assert [(r["kind"], r["channel"], r["case_no"]) for r in rows] == [
        ("daily_digest", "sms", None),
        *(("urge", "sms", f"U-{i:02d}") for i in range(1, 12)),
        ("urge", "wap", "U-12"),
        ("urge", "wap", "U-13"),
    ]
    assert {r["status"] for r in rows} <= {"sent", "delivered"}
    assert rows[-1]["note"].startswith("not by SMS: p-li's reminder SMS for the day are used up")
