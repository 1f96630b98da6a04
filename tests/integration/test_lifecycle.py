"""The manual test clock does due work at each due instant in order, like the system clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from hub.keys import TEST_CLOCK_HOOKS, ClockWorker
from tests.conftest import Api
from tests.integration import events as ev

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def messages(api: Api, **query: str) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    status, body = await api.get(f"/v1/messages?{params}")
    assert status == 200
    return list(body["items"])


async def test_a_send_due_before_quiet_hours_is_stamped_at_its_own_instant(api: Api) -> None:
    """Advancing 21:59:50 → 23:00 sends a 21:59:55 announcement at 21:59:55, not at 23:00."""
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T21:59:50").isoformat()})
    status, _ = await api.put("/v1/lists/residents", {"mobiles": ["13700000001"]})
    assert status in (200, 201)
    status, _ = await api.post(
        "/v1/broadcasts",
        {
            "title": "停水通知",
            "content": "3月3日白天停水",
            "audience": {"lists": ["residents"]},
            "send_at": at("2026-03-02T21:59:55").isoformat(),
        },
    )
    assert status in (200, 201, 202)

    status, body = await api.post(
        "/v1/test-clock/advance", {"to": at("2026-03-02T23:00").isoformat()}
    )

    [sent] = await messages(api, kind="announcement")
    assert sent["status"] in ("sent", "delivered")
    assert datetime.fromisoformat(sent["sent_at"]) == at("2026-03-02T21:59:55")
    assert status == 200 and body["now"].startswith("2026-03-02T23:00")
    assert body["failed"] == []


async def test_a_reminder_fires_at_its_timer_not_at_the_target(api: Api) -> None:
    """A 4-hour node started 18:00 is warned at 21:00 (75%) even when the clock jumps to 23:00."""
    await api.put("/v1/people/p-li", {"name": "李四", "mobile": "13900001111", "channels": ["sms"]})
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T18:00").isoformat()})
    node = ev.node_started("T-1", "n1", at("2026-03-02T18:00").isoformat(), limit=None)
    node["limit"] = {"value": 4, "unit": "hours"}
    status, _ = await api.post("/v1/events", node)
    assert status == 202

    status, body = await api.post(
        "/v1/test-clock/advance", {"to": at("2026-03-02T23:00").isoformat()}
    )

    [soon] = await messages(api, kind="node_due_soon", recipient="13900001111")
    assert datetime.fromisoformat(soon["created_at"]) == at("2026-03-02T21:00")
    assert datetime.fromisoformat(soon["sent_at"]) == at("2026-03-02T21:00")
    assert status == 200 and body["stops"] >= 1


async def test_work_due_in_order_across_workers_and_days(api: Api) -> None:
    """Each timer and send of a two-day jump happens at its instant: the log's times rise."""
    await api.put("/v1/people/p-li", {"name": "李四", "mobile": "13900001111", "channels": ["sms"]})
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("T-2", at("2026-03-02T10:00").isoformat(), limit=5),
                ev.node_started("T-2", "n1", at("2026-03-02T10:00").isoformat(), limit=2),
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"by": "P4D"})

    sent = [m for m in await messages(api) if m["channel"] == "sms"]
    times = [(m["kind"], datetime.fromisoformat(m["sent_at"])) for m in sent]
    assert ("case_accepted", at("2026-03-02T10:00")) in times
    assert ("daily_digest", at("2026-03-03T08:30")) in times
    assert ("node_due_soon", at("2026-03-03T09:00")) in times  # due 4 March: warned at 09:00
    assert ("node_overdue", at("2026-03-05T09:00")) in times
    assert [t for _, t in times] == sorted(t for _, t in times)


async def test_a_failing_worker_is_reported_and_the_clock_still_moves(
    api: Api, app: web.Application
) -> None:
    """Work that raises is set aside and named in the answer; the advance answers 200."""

    async def broken(now: datetime) -> None:
        raise RuntimeError("provider table missing")

    async def due(after: datetime | None) -> datetime | None:
        first = at("2026-03-02T12:00")
        return first if after is None or after < first else None

    app[TEST_CLOCK_HOOKS].append(ClockWorker(name="broken", run=broken, next_due=due))
    status, body = await api.post("/v1/test-clock/advance", {"by": "PT5H"})

    assert status == 200
    assert body["now"].startswith("2026-03-02T14:00")
    assert body["failed"] == [
        {
            "at": "2026-03-02T12:00:00+08:00",
            "worker": "broken",
            "error": "RuntimeError: provider table missing",
        }
    ]


async def test_the_clock_refuses_to_go_back(api: Api) -> None:
    """An advance to an earlier instant is 422 and leaves the clock where it was."""
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T12:00").isoformat()})
    status, _ = await api.post(
        "/v1/test-clock/advance", {"to": (at("2026-03-02T12:00") - timedelta(hours=1)).isoformat()}
    )
    assert status == 422
    status, body = await api.post("/v1/test-clock/advance", {"by": "PT0S"})
    assert status == 200 and body["now"].startswith("2026-03-02T12:00")


async def test_a_send_whose_worker_died_goes_out_when_its_lease_expires(
    api: Api, database_url: str
) -> None:
    """A row a dead worker left leased is reaped at its lease's end and sent then, not before.

    The clock reaps only where a lease can have expired (the agenda says), so this is the
    case that must still be found."""
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    status, _ = await api.put("/v1/lists/residents", {"mobiles": ["13700000002"]})
    assert status in (200, 201)
    status, _ = await api.post(
        "/v1/broadcasts",
        {
            "title": "停水通知",
            "content": "3月3日白天停水",
            "audience": {"lists": ["residents"]},
            "send_at": at("2026-03-02T10:30").isoformat(),
        },
    )
    assert status in (200, 201, 202)
    conn = await asyncpg.connect(database_url)
    try:
        leased = await conn.execute(
            "UPDATE messages SET status = 'sending', lease_owner = 'dead-worker',"
            " claimed_at = $1, lease_expires_at = $2 WHERE kind = 'announcement'",
            at("2026-03-02T10:30"),
            at("2026-03-02T10:45"),
        )
    finally:
        await conn.close()
    assert leased == "UPDATE 1"

    status, body = await api.post(
        "/v1/test-clock/advance", {"to": at("2026-03-02T12:00").isoformat()}
    )

    [sent] = await messages(api, kind="announcement")
    assert status == 200 and body["failed"] == []
    assert sent["status"] in ("sent", "delivered")
    assert datetime.fromisoformat(sent["sent_at"]) == at("2026-03-02T10:45")
