"""A reminder held back is checked again when it leaves: untrue ones are cancelled, not sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import ManualClock
from hub.keys import DISPATCH_SETTINGS
from hub.notices.sealing import opened
from hub.settings import DispatchSettings, Settings
from tests.conftest import Api
from tests.integration import events as ev

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def reviewer_with_late_mornings(api: Api) -> None:
    """李四 keeps quiet until 10:00, so his 09:00 overdue reminders wait an hour."""
    await api.put(
        "/v1/people/p-li",
        {
            "name": "李四",
            "mobile": "13900001111",
            "channels": ["sms"],
            "quiet_hours": "20:00-10:00",
        },
    )
    await api.put("/v1/departments/SCJG", {"name": "市场监督管理局"})


async def overdue_sms(api: Api, database_url: str) -> list[dict[str, Any]]:
    """The overdue SMS reminders, bodies opened with the app's key."""
    conn = await asyncpg.connect(database_url)
    try:
        found = await conn.fetch(
            "SELECT status, error, error_code, body, case_no, sent_at, sealed FROM messages"
            " WHERE kind = 'node_overdue' AND channel = 'sms' ORDER BY id"
        )
        return [opened(api.vault, r) for r in found]
    finally:
        await conn.close()


async def test_an_overdue_reminder_held_by_quiet_hours_is_cancelled_once_the_node_is_done(
    api: Api, database_url: str
) -> None:
    """Due at 09:00, held to 10:00 by 李四's quiet hours, completed at 09:30: never sent."""
    await reviewer_with_late_mornings(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("Q-1", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T09:10").isoformat()})
    (held,) = await overdue_sms(api, database_url)
    assert held["status"] == "queued"
    await api.post("/v1/events", ev.node_completed("Q-1", "n1", at("2026-03-04T09:30").isoformat()))
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T11:00").isoformat()})
    (cancelled,) = await overdue_sms(api, database_url)
    assert cancelled["status"] == "cancelled" and cancelled["sent_at"] is None
    assert cancelled["error_code"] == "no_longer_true"
    assert "the node was completed" in cancelled["error"]
    _, log = await api.get("/v1/messages?case_no=Q-1&kind=node_overdue&status=cancelled")
    assert len(log["items"]) >= 1


async def test_a_merged_reminder_is_narrowed_to_the_cases_still_overdue(
    api: Api, database_url: str
) -> None:
    """Three overdue cases merged, one done while held: the SMS that leaves names the other two."""
    await reviewer_with_late_mornings(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [ev.accepted(f"M-{i}", at("2026-03-02T10:00").isoformat()) for i in range(3)]
            + [
                ev.node_started(f"M-{i}", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
                for i in range(3)
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T09:10").isoformat()})
    (held,) = await overdue_sms(api, database_url)
    assert "M-0、M-1等3件" in held["body"]
    await api.post("/v1/events", ev.node_completed("M-0", "n1", at("2026-03-04T09:30").isoformat()))
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T11:00").isoformat()})
    (sent,) = await overdue_sms(api, database_url)
    assert sent["status"] == "sent"
    assert sent["body"].startswith("超期提醒：M-1、M-2（食品经营许可）")
    assert "M-0" not in sent["body"]


async def test_a_suspension_cancels_the_case_reminders_waiting_in_the_outbox(
    api: Api, database_url: str
) -> None:
    """A case suspended while its node's overdue reminder waits: the reminder is cancelled."""
    await reviewer_with_late_mornings(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("Q-2", at("2026-03-02T10:00").isoformat()),
                ev.node_started("Q-2", "n1", at("2026-03-02T10:00").isoformat(), limit=1),
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T09:10").isoformat()})
    suspended = ev.simple("case.suspended", "Q-2", at("2026-03-04T09:20").isoformat(), reason="x")
    await api.post("/v1/events", suspended)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T11:00").isoformat()})
    (cancelled,) = await overdue_sms(api, database_url)
    assert cancelled["status"] == "cancelled"
    assert "suspended" in cancelled["error"]


@pytest.fixture
async def one_at_a_time(
    settings: Settings, clock: ManualClock, database_url: str
) -> AsyncIterator[Api]:
    """A hub whose dispatcher claims one message per batch."""
    app = create_app(settings, clock=clock, database_url=database_url)
    app[DISPATCH_SETTINGS] = DispatchSettings(batch_size=1)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


async def test_a_batch_of_cancelled_reminders_does_not_hold_up_the_next(
    one_at_a_time: Api, database_url: str
) -> None:
    """The first claimed reminder is cancelled: the one behind it still goes in the same advance."""
    api = one_at_a_time
    await reviewer_with_late_mornings(api)
    await api.put(
        "/v1/people/p-dep",
        {"name": "赵", "mobile": "13900004444", "channels": ["sms"], "quiet_hours": "20:00-10:00"},
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    late = ev.node_started("B-2", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
    late["assignee"] = {"id": "p-dep", "name": "赵", "mobile": "13900004444"}
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.node_started("B-1", "n1", at("2026-03-02T10:00").isoformat(), limit=1),
                late,
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T09:10").isoformat()})
    await api.post("/v1/events", ev.node_completed("B-1", "n1", at("2026-03-04T09:30").isoformat()))
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T10:05").isoformat()})
    rows = await overdue_sms(one_at_a_time, database_url)
    assert sorted((r["case_no"], r["status"]) for r in rows) == [
        ("B-1", "cancelled"),
        ("B-2", "sent"),
    ]


async def test_reminders_cancelled_in_one_claimed_batch_keep_their_own_reasons(
    api: Api, database_url: str
) -> None:
    """Two untrue reminders claimed together are both cancelled, each with its own reason,
    and the true one claimed with them is sent."""
    await reviewer_with_late_mornings(api)
    others = {"C-2": ("p-dep", "13900004444"), "C-3": ("p-wu", "13900005555")}
    for person, mobile in others.values():  # one reviewer each: three reminders, not merged
        await api.put(
            f"/v1/people/{person}",
            {"name": "赵", "mobile": mobile, "channels": ["sms"], "quiet_hours": "20:00-10:00"},
        )
    start = at("2026-03-02T10:00").isoformat()
    await api.post("/v1/test-clock/advance", {"to": start})
    started = [ev.node_started(case, "n1", start, limit=1) for case in ("C-1", "C-2", "C-3")]
    for event in started[1:]:
        person, mobile = others[event["case_no"]]
        event["assignee"] = {"id": person, "name": "赵", "mobile": mobile}
    await api.post("/v1/events", {"events": started})
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T09:10").isoformat()})
    later = at("2026-03-04T09:20").isoformat()
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.simple("case.suspended", "C-1", later, reason="x"),
                ev.node_completed("C-2", "n1", later),
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T11:00").isoformat()})
    rows = {r["case_no"]: r for r in await overdue_sms(api, database_url)}
    assert {case: r["status"] for case, r in rows.items()} == {
        "C-1": "cancelled",
        "C-2": "cancelled",
        "C-3": "sent",
    }
    assert "suspended" in rows["C-1"]["error"] and "completed" not in rows["C-1"]["error"]
    assert "the node was completed" in rows["C-2"]["error"]
    assert rows["C-1"]["error_code"] == rows["C-2"]["error_code"] == "no_longer_true"
