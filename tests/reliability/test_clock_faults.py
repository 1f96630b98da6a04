"""The clock jumps: backwards (an NTP step, a VM restored from a snapshot) and far forwards.

The hub reads time only from its injected Clock. ``JumpClock`` is the manual
clock that may also be set back; after each jump the test-clock hook runs the
scheduler and dispatcher at the new instant, as the background loops would on
their next turn. Whatever the path through time, each reminder and escalation
goes out once, and none that came due during a jump is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import Settings
from tests.conftest import START, Api
from tests.integration import events as ev
from tests.integration.dispatch_helpers import ensure_message_routes


class JumpClock(ManualClock):
    """A manual clock that can also be set back, the way a system clock can be."""

    def jump_to(self, instant: str) -> None:
        self._now = datetime.fromisoformat(instant)


@pytest.fixture
async def hub(settings: Settings, database_url: str) -> AsyncIterator[tuple[Api, JumpClock]]:
    clock = JumpClock(START)
    app = create_app(settings, clock=clock, database_url=database_url)
    ensure_message_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client), clock
    finally:
        await client.close()


async def _jump(api: Api, clock: JumpClock, instant: str) -> Counter[tuple[str, str]]:
    """Set the clock, let everything due at that instant run, return the notices so far."""
    clock.jump_to(instant)
    status, body = await api.post("/v1/test-clock/advance", {"by": "PT0S"})
    assert status == 200, body
    status, body = await api.get("/v1/messages?limit=500&channel=sms")
    assert status == 200, body
    return Counter((m["kind"], m["person_id"]) for m in body["items"] if m["status"] == "sent")


async def test_clock_jumps_neither_repeat_nor_skip_reminders(hub: tuple[Api, JumpClock]) -> None:
    """Backwards and forwards jumps fire each reminder and escalation exactly once."""
    api, clock = hub
    for pid, mobile in [
        ("p-li", "13900001111"),
        ("p-head", "13900002222"),
        ("p-sup", "13900003333"),
    ]:
        status, _ = await api.put(
            f"/v1/people/{pid}", {"name": pid, "mobile": mobile, "channels": ["sms"]}
        )
        assert status in (200, 201)
    status, _ = await api.put(
        "/v1/departments/SCJG",
        {"name": "市场监督管理局", "head": "p-head", "supervisors": ["p-sup"]},
    )
    assert status in (200, 201)
    at = START.isoformat()
    status, _ = await api.post(
        "/v1/events",
        {"events": [ev.accepted("J-1", at), ev.node_started("J-1", "n1", at, limit=3)]},
    )
    assert status == 202
    # Node due Thu 2026-03-05 23:59:59; warned Wed 09:00; overdue from Fri 09:00.
    warned = await _jump(api, clock, "2026-03-04T10:00:00+08:00")
    assert warned[("node_due_soon", "p-li")] == 1
    assert warned[("case_accepted", None)] == 1
    # Backwards two days, then forwards again past the same instant: nothing new, nothing twice.
    assert await _jump(api, clock, "2026-03-02T12:00:00+08:00") == warned
    assert await _jump(api, clock, "2026-03-04T11:00:00+08:00") == warned
    # One leap over a weekend and four working days: each step of the ladder that came due
    # on the way goes out once (assignee Fri, head Mon, supervisors Tue ...).
    leapt = await _jump(api, clock, "2026-03-11T10:00:00+08:00")
    assert leapt[("node_due_soon", "p-li")] == 1
    assert leapt[("node_overdue", "p-li")] == 1
    assert leapt[("node_overdue", "p-head")] == 1
    assert leapt[("node_overdue", "p-sup")] >= 1
    once = {k: n for k, n in leapt.items() if k[0] not in ("node_overdue", "daily_digest")}
    assert set(once.values()) == {1}, leapt
    # Back a week and forward to the same instant: the log does not change.
    assert await _jump(api, clock, "2026-03-04T09:30:00+08:00") == leapt
    assert await _jump(api, clock, "2026-03-11T10:00:00+08:00") == leapt
    print(f"after the jumps: {sorted(leapt.items(), key=str)}")
