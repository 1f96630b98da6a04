"""Hours nodes chased in office hours and counted in hours; no stale, duplicate or catch-up spam."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import Settings
from tests.conftest import Api, opened_rows
from tests.fakes.smtp import FakeSmtp
from tests.integration import events as ev
from tests.integration.dispatch_helpers import with_channels
from tests.integration.planning.test_planner import TZ, advance_hourly, at, setup_department


def hours_node(case_no: str, started: datetime, hours: int, **extra: Any) -> dict[str, Any]:
    event = ev.node_started(case_no, "n1", started.isoformat(), **extra)
    return event | {"limit": {"value": hours, "unit": "hours"}}


async def sms_log(database_url: str, *kinds: str) -> list[tuple[str, str, datetime, str]]:
    """(kind, person, when it was due to leave, body) of reviewer SMS of ``kinds``."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = opened_rows(
            await conn.fetch(
                "SELECT kind, person_id, not_before, body, sealed FROM messages"
                " WHERE channel = 'sms' AND kind = ANY($1::text[]) ORDER BY id",
                list(kinds),
            )
        )
    finally:
        await conn.close()
    return [(r["kind"], r["person_id"], r["not_before"].astimezone(TZ), r["body"]) for r in rows]


async def test_a_four_hour_node_is_overdue_at_its_deadline_and_counted_in_hours(
    api: Api, database_url: str
) -> None:
    """Due 13:00 Monday: the assignee hears at 13:00, the head at 09:00 Tuesday, in hours."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T09:00").isoformat()})
    await api.post("/v1/events", hours_node("H-1", at("2026-03-02T09:00"), 4))
    await advance_hourly(api, at("2026-03-02T10:00"), at("2026-03-03T10:00"))
    log = await sms_log(database_url, "node_due_soon", "node_overdue")
    assert [(k, p, t) for k, p, t, _ in log] == [
        ("node_due_soon", "p-li", at("2026-03-02T12:00")),
        ("node_overdue", "p-li", at("2026-03-02T13:00")),
        ("node_overdue", "p-head", at("2026-03-03T09:00")),
    ]
    assert "已超期不足1小时" in log[1][3]
    assert "已超期20小时" in log[2][3]
    assert "工作日" not in log[1][3] + log[2][3]


async def test_an_hours_node_due_in_the_evening_is_chased_at_office_start(
    api: Api, database_url: str
) -> None:
    """Due 20:00 (after policy.office_end 17:30): chased at 09:00 the next working day."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T16:00").isoformat()})
    await api.post("/v1/events", hours_node("H-2", at("2026-03-02T16:00"), 4))
    await advance_hourly(api, at("2026-03-02T17:00"), at("2026-03-04T10:00"))
    log = await sms_log(database_url, "node_overdue")
    assert [(p, t) for _, p, t, _ in log] == [
        ("p-li", at("2026-03-03T09:00")),
        ("p-head", at("2026-03-04T09:00")),
    ]
    assert "已超期13小时" in log[0][3]


async def test_a_due_soon_that_would_arrive_after_the_deadline_is_dropped(
    api: Api, database_url: str
) -> None:
    """A 4-hour node from 19:00 Friday warns at 22:00 (quiet) and is due 23:00: no due-soon."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-06T19:00").isoformat()})
    await api.post("/v1/events", hours_node("H-3", at("2026-03-06T19:00"), 4))
    await advance_hourly(api, at("2026-03-06T20:00"), at("2026-03-09T10:00"))
    log = await sms_log(database_url, "node_due_soon", "node_overdue")
    assert [(k, p, t) for k, p, t, _ in log] == [
        ("node_overdue", "p-li", at("2026-03-09T09:00")),
    ]


async def test_a_late_arriving_overdue_node_tells_each_rung_once(
    api: Api, database_url: str
) -> None:
    """A node due ten days ago arrives now: assignee, head and supervisor hear once each."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-16T10:00").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("L-1", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
    )
    await api.post("/v1/test-clock/advance", {"by": "PT1M"})
    log = await sms_log(database_url, "node_due_soon", "node_overdue")
    assert [(k, p) for k, p, _, _ in log] == [
        ("node_overdue", "p-li"),
        ("node_overdue", "p-head"),
        ("node_overdue", "p-sup"),
    ]


async def test_a_supervisors_yellow_alerts_stay_within_each_department(
    api: Api, database_url: str
) -> None:
    """One supervisor, two departments: a yellow alert per department naming only its cases,
    and none for a case that is already red."""
    await setup_department(api)
    await api.put("/v1/departments/ZJJ", {"name": "住房和城乡建设局", "supervisors": ["p-sup"]})
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-13T10:00").isoformat()})
    housing = {"department": {"code": "ZJJ", "name": "住房和城乡建设局"}}
    await api.post(
        "/v1/events",
        {
            "events": [
                # Accepted 2 March with 9 working days: due 13 March, yellow since 12 March.
                ev.accepted("Y-1", at("2026-03-02T10:00").isoformat(), limit=9),
                ev.accepted("Y-2", at("2026-03-02T10:00").isoformat(), limit=9) | housing,
                # Accepted 20 Feb with 5 working days: due 27 Feb, long red.
                ev.accepted("R-9", at("2026-02-20T10:00").isoformat(), limit=5),
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"by": "PT1M"})
    yellow = await sms_log(database_url, "case_due_soon")
    assert sorted(body.split("（")[0] for _, _, _, body in yellow) == [
        "黄灯预警：住房和城乡建设局办理的Y-2",
        "黄灯预警：市场监督管理局办理的Y-1",
    ]
    red = await sms_log(database_url, "case_overdue")
    assert [body.split("（")[0] for _, _, _, body in red] == ["红灯督办：市场监督管理局办理的R-9"]


async def test_an_hours_nodes_reminders_say_the_time_it_is_due(api: Api, database_url: str) -> None:
    """A 4-hour node due 13:00: the SMS says "将于3月2日13:00到期", not the date alone; the
    overdue one counts hours; a day-limit node's reminder keeps its date."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T09:00").isoformat()})
    await api.post("/v1/events", hours_node("H-4", at("2026-03-02T09:00"), 4))
    await advance_hourly(api, at("2026-03-02T10:00"), at("2026-03-02T13:00"))
    (soon, overdue) = await sms_log(database_url, "node_due_soon", "node_overdue")
    assert "“审查”环节将于3月2日13:00到期，请及时办理。" in soon[3]
    assert "H-4" in soon[3]
    assert "已超期不足1小时" in overdue[3]

    # Day limits end at 23:59:59 of their date: the date, as it always read.
    await api.post(
        "/v1/events", ev.node_started("D-1", "n1", at("2026-03-02T13:00").isoformat(), limit=1)
    )
    await advance_hourly(api, at("2026-03-02T14:00"), at("2026-03-03T10:00"))
    day_soon = [b for k, _, _, b in await sms_log(database_url, "node_due_soon") if "D-1" in b]
    assert len(day_soon) == 1
    assert "环节将于2026-03-03到期" in day_soon[0]


async def test_an_hours_nodes_email_shows_the_time_in_its_limit_line(
    settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """By e-mail the 环节时限 line says date and time, in the due-soon and the overdue mail."""
    smtp = FakeSmtp().start()
    email = {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "tls": "none"}
    app = create_app(with_channels(settings, email=email), clock=clock, database_url=database_url)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        await _email_reminders_of_an_hours_node(Api(client), smtp)
    finally:
        await client.close()
        smtp.stop()


async def _email_reminders_of_an_hours_node(api: Api, smtp: FakeSmtp) -> None:
    await setup_department(api)
    await api.put(
        "/v1/people/p-li", {"name": "李四", "email": "li@example.gov.cn", "channels": ["email"]}
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T09:00").isoformat()})
    await api.post("/v1/events", hours_node("H-5", at("2026-03-02T09:00"), 4))
    await advance_hourly(api, at("2026-03-02T10:00"), at("2026-03-02T13:00"))
    mails = {
        str(m["Subject"]): str(m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        for m in smtp.requests
        if m["To"] == "li@example.gov.cn"
    }
    assert {"临期提醒：H-5“审查”环节", "超期提醒：H-5“审查”环节"} <= set(mails)
    assert "环节时限：3月2日13:00" in mails["临期提醒：H-5“审查”环节"].splitlines()
    overdue = mails["超期提醒：H-5“审查”环节"]
    assert "环节时限：3月2日13:00" in overdue.splitlines()
    assert "已超过时限不足1小时" in overdue


async def test_a_merged_reminder_names_the_earliest_deadline_with_its_time(
    api: Api, database_url: str
) -> None:
    """Two hours nodes turn yellow at 12:00, due 14:00 and 13:00: one SMS, due 13:00."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T09:00").isoformat()})
    await api.post("/v1/events", hours_node("H-7", at("2026-03-02T06:00"), 8))
    await api.post("/v1/events", hours_node("H-6", at("2026-03-02T09:00"), 4))
    await advance_hourly(api, at("2026-03-02T10:00"), at("2026-03-02T12:00"))
    (merged,) = [b for _, _, _, b in await sms_log(database_url, "node_due_soon")]
    assert "临期提醒：H-7、H-6（" in merged
    assert "将于3月2日13:00到期" in merged
