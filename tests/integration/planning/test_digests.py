"""The 08:30 digest: one per person per day, naming the due-soon and overdue cases with dates."""

from __future__ import annotations

import asyncpg

from tests.conftest import Api, opened_rows
from tests.integration import events as ev
from tests.integration.planning.test_planner import at, put_li_away, setup_department


async def digests(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return opened_rows(
            await conn.fetch(
                "SELECT person_id, body, note, created_at, sealed FROM messages"
                " WHERE kind = 'daily_digest' AND channel = 'sms' ORDER BY id"
            )
        )
    finally:
        await conn.close()


async def test_a_deputy_gets_one_digest_that_includes_the_routed_nodes(
    api: Api, database_url: str
) -> None:
    """赵 covers 李 (away): each morning one digest to 赵 with both desks' cases, none to 李."""
    await setup_department(api)
    await put_li_away(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("D-1", at("2026-03-02T10:00").isoformat()),
                ev.accepted("D-2", at("2026-03-02T10:00").isoformat()),
                # 李's node, due Tue 3 March: overdue by Thursday's digest.
                ev.node_started("D-1", "n1", at("2026-03-02T10:00").isoformat(), limit=1),
                # 赵's own node, due Thu 5 March: due soon from 09:00 Wednesday, so listed
                # by Thursday's 08:30 digest.
                ev.node_started("D-2", "n1", at("2026-03-02T10:00").isoformat(), limit=3)
                | {"assignee": {"id": "p-dep", "name": "赵副科长", "mobile": "13900004444"}},
            ]
        },
    )
    for moment in ("2026-03-03T08:40", "2026-03-04T08:40", "2026-03-05T09:10"):
        await api.post("/v1/test-clock/advance", {"to": at(moment).isoformat()})
    rows = await digests(database_url)
    assert [(r["person_id"], r["created_at"].astimezone(at("2026-03-03T00:00").tzinfo).date().day)
            for r in rows] == [("p-dep", 2), ("p-dep", 3), ("p-dep", 4), ("p-dep", 5)]  # fmt: skip
    # On 2 March the nodes came in at 10:00 and that morning's digest caught up at once
    # (as the system clock's 30-second digest check would); then one each morning.
    caught_up, first, second, third = (r["body"] for r in rows)
    assert caught_up.startswith("赵副科长您好，您今日在办件2件，")
    assert first.startswith("赵副科长您好，您今日在办件2件，")
    assert "超期1件：D-1（03-03到期）" in second
    assert "超期1件：D-1（03-03到期），临期1件：D-2（03-05到期）" in third
    assert "deputy p-dep" in (rows[0]["note"] or "")


async def test_the_digest_e_mail_lists_each_case_with_its_date(api: Api, database_url: str) -> None:
    """The inbox copy of the digest lists every overdue and due-soon case on its own line."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [ev.accepted(f"L-{i}", at("2026-03-02T10:00").isoformat()) for i in range(3)]
            + [
                ev.node_started(f"L-{i}", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
                for i in range(3)
            ]
        },
    )
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-04T08:40").isoformat()})
    conn = await asyncpg.connect(database_url)
    try:
        body = opened_rows(
            [
                await conn.fetchrow(
                    "SELECT body, sealed FROM messages"
                    " WHERE kind = 'daily_digest' AND channel = 'sms'"
                    " ORDER BY id DESC LIMIT 1"
                )
            ]
        )[0]["body"]
    finally:
        await conn.close()
    assert "超期3件：L-0（03-03到期）等" in body
    _, inbox = await api.get("/v1/messages?kind=daily_digest")
    assert len(inbox["items"]) == 3  # 2 March (caught up at 10:00), 3 and 4 March at 08:30


async def test_the_digest_says_when_an_hours_node_is_due_to_the_minute(
    api: Api, database_url: str
) -> None:
    """A 24-hour node started Monday 10:00 is due Tuesday 10:00: Tuesday's 08:30 digest
    lists it "3月3日10:00", as its reminders say it, not the date alone."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    started = ev.node_started("H-24", "n1", at("2026-03-02T10:00").isoformat())
    await api.post("/v1/events", started | {"limit": {"value": 24, "unit": "hours"}})
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-03T08:40").isoformat()})

    [*_, tuesday] = await digests(database_url)

    assert "临期1件：H-24（3月3日10:00到期）" in tuesday["body"]
    assert "03-03到期" not in tuesday["body"]
