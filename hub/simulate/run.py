"""Replay a scenario on a hub under the manual clock, in time order, and read its message log.

Actions are grouped to ``resolution`` (events the approval system would post
together); before each group the test clock advances to its last action — doing all
due work at its own instant on the way — and the group is ingested at that instant,
the way ``POST /v1/events`` would. Every channel gets a silent adapter: nothing leaves.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, LiteralString

from channels.console import ConsoleChannel, ConsoleConfig
from core.events import EVENT_ADAPTER
from core.notices import ChannelKind
from hub.api.models import PersonIn
from hub.clock import ManualClock
from hub.delivery.registry import WAP_PROVIDER, ChannelRegistry
from hub.keys import ClockWorker
from hub.lifecycle import advance_test_clock
from hub.notices.sealing import opened
from hub.replies.evaluations import rate_case
from hub.services import Services
from hub.simulate.scenario import Scenario
from hub.store import ingest as store
from hub.supervision.urges import NothingToUrge, urge_case

Progress = Callable[[float, str], None]


def silent_channels() -> ChannelRegistry:
    """Every medium answered by a console adapter that writes nowhere."""
    sink = io.StringIO()
    console = ConsoleChannel(ConsoleConfig(stream=sink))
    kinds = [ChannelKind.SMS, ChannelKind.EMAIL, ChannelKind.WECOM, ChannelKind.WECHAT_MP]
    providers = {kind: "console" for kind in kinds} | {ChannelKind.WAP: WAP_PROVIDER}
    return ChannelRegistry(adapters=dict.fromkeys(kinds, console), providers=providers)


@dataclass(kw_only=True)
class Replay:
    """What the hub was told, and when it learnt it (the instant of ingestion)."""

    learnt: dict[str, datetime] = field(default_factory=dict)  # event_id -> ingested at
    rejected: list[str] = field(default_factory=list)  # one line per bad event


async def replay(
    app: Services,
    workers: list[ClockWorker],
    clock: ManualClock,
    scenario: Scenario,
    *,
    resolution: timedelta = timedelta(minutes=1),
    progress: Progress | None = None,
) -> Replay:
    """Feed ``scenario`` to ``app`` in time order; return when everything due by its end is done."""
    result = Replay()
    async with app.pool.acquire() as conn:
        for person_id, body in scenario.people.items():
            fields = PersonIn.model_validate(body).stored_fields()
            await store.put_person(conn, person_id, fields, now=clock.now(), vault=app.vault)
        for code, body in scenario.departments.items():
            await store.put_department(conn, code, body, now=clock.now())
    hooks = workers
    actions = scenario.actions
    span = (scenario.end - scenario.start).total_seconds() or 1.0
    index = 0
    while index < len(actions):
        slot = _ceil(actions[index].at, resolution)
        group = []
        while index < len(actions) and _ceil(actions[index].at, resolution) == slot:
            group.append(actions[index])
            index += 1
        # The hub learns of a group when its last action happened, not at the slot's end:
        # a node started at 10:57 must be known before the 11:00 reminder round goes.
        at = max(group[-1].at, clock.now())
        await advance_test_clock(hooks, clock, at)
        await _apply(app, group, at, result)
        if progress is not None:
            done = (at - scenario.start).total_seconds() / span
            progress(min(1.0, done), f"{index}/{len(actions)}")
    await advance_test_clock(hooks, clock, max(scenario.end, clock.now()))
    if progress is not None:
        progress(1.0, f"{len(actions)}/{len(actions)}")
    return result


def _ceil(instant: datetime, resolution: timedelta) -> datetime:
    step = resolution.total_seconds()
    epoch = instant.timestamp()
    rounded = -(-epoch // step) * step
    return instant + timedelta(seconds=rounded - epoch)


async def _apply(app: Services, group: list[Any], now: datetime, result: Replay) -> None:
    items = []
    for action in group:
        if action.kind != "event":
            continue
        try:
            items.append(
                store.IncomingEvent(
                    raw=action.body, event=EVENT_ADAPTER.validate_python(action.body)
                )
            )
        except ValueError as exc:  # one bad row never stops the batch
            result.rejected.append(f"{action.body.get('event_id', '?')}: {exc}".splitlines()[0])
    async with app.pool.acquire() as conn:
        if items:
            await store.ingest(
                conn,
                items,
                now=now,
                calendar=app.calendar,
                rules_for=app.rules,
                vault=app.vault,
                after=app.planner.after_ingest,
            )
            for item in items:
                result.learnt[item.event.event_id] = now
        for action in group:
            if action.kind == "urge":
                with contextlib.suppress(NothingToUrge):  # the node was done meanwhile
                    await urge_case(
                        conn,
                        app.routing,
                        action.body["case_no"],
                        by=action.body["by"],
                        note=action.body.get("note", ""),
                        now=now,
                        max_attempts=app.settings.policy.max_attempts,
                        audit_as=("supervisor", "cuiban simulate"),
                    )
            elif action.kind == "rate":
                await rate_case(
                    conn,
                    action.body["case_no"],
                    action.body["rating"],
                    comment="模拟评价",
                    source="sms",
                    now=now,
                    routing=app.routing,
                )


async def _rows(app: Services, sql: LiteralString) -> list[dict[str, Any]]:
    async with app.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql)]


async def message_log(app: Services) -> list[dict[str, Any]]:
    """Every message the hub wrote, oldest first."""
    rows = await _rows(
        app,
        "SELECT id, kind, channel, person_id, recipient, case_no, node_id, status, subject,"
        " body, sealed, created_at, not_before, sent_at, error, note FROM messages ORDER BY id",
    )
    return [opened(app.vault, r) for r in rows]


async def nodes(app: Services) -> list[dict[str, Any]]:
    return await _rows(
        app,
        "SELECT case_no, node_id, department_code, assignee_id, due_at, due_date,"
        " completed_at, limit_unit FROM nodes",
    )
