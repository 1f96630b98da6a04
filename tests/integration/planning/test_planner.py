"""Reminders and escalations at the contract's instants, driven hour by hour by the test clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from tests.conftest import SUPERVISOR_KEY, Api, opened_rows
from tests.integration import events as ev

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def put_li_away(api: Api) -> None:
    """李四 (p-li) is away 1–20 March 2026 with 赵 (p-dep) as deputy."""
    await api.put(
        "/v1/people/p-li",
        {
            "name": "李四",
            "mobile": "13900001111",
            "channels": ["sms"],
            "away": {
                "from": "2026-03-01T00:00:00+08:00",
                "to": "2026-03-20T00:00:00+08:00",
                "deputy": "p-dep",
            },
        },
    )


async def setup_department(api: Api) -> None:
    for person_id, name, mobile in [
        ("p-li", "李四", "13900001111"),
        ("p-head", "王局长", "13900002222"),
        ("p-sup", "周监察", "13900003333"),
        ("p-dep", "赵副科长", "13900004444"),
    ]:
        status, _ = await api.put(
            f"/v1/people/{person_id}", {"name": name, "mobile": mobile, "channels": ["sms"]}
        )
        assert status == 201
    status, _ = await api.put(
        "/v1/departments/SCJG",
        {"name": "市场监督管理局", "head": "p-head", "supervisors": ["p-sup"]},
    )
    assert status == 201


async def log_of(database_url: str) -> list[tuple[str, str | None, str, datetime]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT kind, person_id, channel, created_at, not_before FROM messages"
            " WHERE (channel <> 'wap' OR person_id IS NULL) AND kind <> 'monthly_report'"
            " ORDER BY id"
        )
    finally:
        await conn.close()
    return [(r["kind"], r["person_id"], r["channel"], r["not_before"].astimezone(TZ)) for r in rows]


async def advance_hourly(api: Api, start: datetime, end: datetime) -> None:
    moment = start
    while moment <= end:
        status, _ = await api.post("/v1/test-clock/advance", {"to": moment.isoformat()})
        assert status == 200
        moment += timedelta(hours=1)


async def test_a_three_day_node_across_labour_day_reminds_and_escalates_on_time(
    api: Api, database_url: str
) -> None:
    """A 3-working-day node across 劳动节 warns, escalates on working days, and stops when done."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-04-30T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("R-1", at("2026-04-30T10:00").isoformat(), limit=20),
                ev.node_started("R-1", "n1", at("2026-04-30T10:30").isoformat(), limit=3),
            ]
        },
    )
    # 1–5 May are the Labour Day holiday; Saturday 9 May is a 调休 working day.
    # n1: due Fri 8 May; warn 09:00 Thu 7 May; overdue from Sat 9 May 09:00.
    await advance_hourly(api, at("2026-04-30T11:00"), at("2026-05-13T11:00"))
    await api.post("/v1/events", ev.node_completed("R-1", "n1", at("2026-05-13T11:30").isoformat()))
    await advance_hourly(api, at("2026-05-13T12:00"), at("2026-05-18T12:00"))

    log = await log_of(database_url)
    digests = [entry for entry in log if entry[0] == "daily_digest"]
    others = [entry for entry in log if entry[0] != "daily_digest"]
    assert others == [
        ("case_accepted", None, "sms", at("2026-04-30T10:00")),
        ("node_due_soon", "p-li", "sms", at("2026-05-07T09:00")),
        ("node_overdue", "p-li", "sms", at("2026-05-09T09:00")),
        ("node_overdue", "p-head", "sms", at("2026-05-11T09:00")),
        ("node_overdue", "p-sup", "sms", at("2026-05-12T09:00")),
        ("node_overdue", "p-sup", "sms", at("2026-05-13T09:00")),
    ]
    # 08:30 on each working day the node was open, never on the holiday or the Sunday
    # (the test clock stops at 08:30 however coarsely it is advanced); on 30 April the
    # node opened after 08:30 and the digest caught up at once, with the 受理 receipt.
    assert [d[3] for d in digests] == [at("2026-04-30T10:00")] + [
        at(f"2026-05-{day:02d}T08:30") for day in (6, 7, 8, 9, 11, 12, 13)
    ]
    assert {d[1] for d in digests} == {"p-li"}


async def test_escalation_stops_at_max_escalations(api: Api, database_url: str) -> None:
    """An overdue node is escalated at most policy.max_escalations (5) times."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("R-2", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
    )
    await advance_hourly(api, at("2026-03-03T08:00"), at("2026-03-13T10:00"))
    overdue = [e for e in await log_of(database_url) if e[0] == "node_overdue"]
    assert [(e[1], e[3].date().isoformat()) for e in overdue] == [
        ("p-li", "2026-03-04"),
        ("p-head", "2026-03-05"),
        ("p-sup", "2026-03-06"),
        ("p-sup", "2026-03-09"),
        ("p-sup", "2026-03-10"),
    ]


async def test_a_suspended_case_gets_no_reminders_until_resumed(
    api: Api, database_url: str
) -> None:
    """While the case is suspended reminders wait; resumed, they come at the moved deadline."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("R-3", at("2026-03-02T10:00").isoformat()),
                ev.node_started("R-3", "n1", at("2026-03-02T10:00").isoformat(), limit=3),
                ev.simple(
                    "case.suspended",
                    "R-3",
                    at("2026-03-03T15:00").isoformat(),
                    reason="expert_review",
                ),
            ]
        },
    )
    await advance_hourly(api, at("2026-03-03T16:00"), at("2026-03-10T12:00"))
    kinds = [e[0] for e in await log_of(database_url)]
    assert kinds == ["case_accepted", "case_suspended"]
    await api.post(
        "/v1/events", ev.simple("case.resumed", "R-3", at("2026-03-10T12:30").isoformat())
    )
    await advance_hourly(api, at("2026-03-10T13:00"), at("2026-03-13T10:00"))
    log = [e for e in await log_of(database_url) if e[0] != "daily_digest"]
    # Suspended [3, 10) March = 5 working days: due 5 → 12 March, warned 09:00 on 11 March.
    assert log[2:] == [
        ("case_resumed", None, "sms", at("2026-03-10T12:00")),  # sent when it arrived
        ("node_due_soon", "p-li", "sms", at("2026-03-11T09:00")),
        ("node_overdue", "p-li", "sms", at("2026-03-13T09:00")),
    ]


async def test_quiet_hours_defer_applicant_notices(api: Api, database_url: str) -> None:
    """A pickup notice caused at 23:00 waits for the end of the quiet window at 07:30."""
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T23:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("R-4", at("2026-03-02T10:00").isoformat()),
                ev.simple(
                    "case.ready_for_pickup",
                    "R-4",
                    at("2026-03-02T23:00").isoformat(),
                    location="3号窗口",
                    documents=["身份证"],
                ),
            ]
        },
    )
    log = await log_of(database_url)
    assert [(e[0], e[3]) for e in log] == [
        ("case_accepted", at("2026-03-03T07:30")),
        ("pickup_notice", at("2026-03-03T07:30")),
    ]


async def test_away_reviewer_reminders_go_to_the_deputy(api: Api, database_url: str) -> None:
    """While a reviewer is away, reminders and urges go to the deputy and the log says so."""
    await setup_department(api)
    await put_li_away(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("R-5", "n1", at("2026-03-02T10:00").isoformat(), limit=3)
    )
    status, body = await api.post(
        "/v1/cases/R-5/urge", {"by": "p-sup", "note": "申请人来电"}, key=SUPERVISOR_KEY
    )
    assert status == 202 and body["nodes"] == ["n1"]
    await advance_hourly(api, at("2026-03-04T08:00"), at("2026-03-04T10:00"))
    conn = await asyncpg.connect(database_url)
    try:
        rows = opened_rows(
            await conn.fetch(
                "SELECT kind, person_id, recipient, note, body, sealed FROM messages"
                " WHERE channel = 'sms' AND kind <> 'monthly_report' ORDER BY id"
            )
        )
        urges = await conn.fetchval("SELECT urges FROM nodes WHERE case_no = 'R-5'")
    finally:
        await conn.close()
    # The clock stops wherever work falls due: the digests of 2 (at once), 3 and 4 March
    # (08:30) come between the urge and the 09:00 warning.
    assert [(r["kind"], r["person_id"], r["recipient"]) for r in rows] == [
        ("urge", "p-dep", "13900004444"),
        *[("daily_digest", "p-dep", "13900004444")] * 3,
        ("node_due_soon", "p-dep", "13900004444"),
    ]
    assert all("deputy p-dep" in r["note"] for r in rows)
    assert "周监察" in rows[0]["body"]
    assert "/wap/inbox/" in rows[0]["body"]  # reviewers are sent to their inbox, not the case page
    assert urges == 1
    _, case = await api.get("/v1/cases/R-5")
    assert case["urges"] == 1 and case["nodes"][0]["urges"] == 1


async def test_urge_of_unknown_or_finished_cases(api: Api) -> None:
    """Urging a case that does not exist is 404; one with no open node is 409."""
    assert (await api.post("/v1/cases/NOPE/urge", {"by": "p-sup"}))[0] == 404
    await api.post("/v1/events", ev.accepted("R-6", "2026-03-02T09:00:00+08:00"))
    assert (await api.post("/v1/cases/R-6/urge", {"by": "p-sup"}))[0] == 409
    assert (await api.post("/v1/cases/R-6/urge", {"note": "x"}))[0] == 422


async def test_supervisors_hear_of_a_deadline_the_calendar_cannot_compute(
    api: Api, database_url: str
) -> None:
    """A case whose limit reaches an unknown year is kept, and its supervisors get a notice.

    2027 is provisional (the year after the last official one); 2028 is unknown.
    """
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2027-12-20T10:00").isoformat()})
    await api.post("/v1/events", ev.accepted("R-7", at("2027-12-20T10:00").isoformat()))
    conn = await asyncpg.connect(database_url)
    try:
        row = opened_rows(
            [
                await conn.fetchrow(
                    "SELECT person_id, body, sealed FROM messages"
                    " WHERE kind = 'deadline_unknown' AND channel = 'sms'"
                )
            ]
        )[0]
    finally:
        await conn.close()
    assert row["person_id"] == "p-sup"
    assert "2028" in row["body"]


async def test_a_busy_reviewer_gets_one_message_for_nodes_overdue_together(
    api: Api, database_url: str
) -> None:
    """Three nodes of one reviewer turning overdue at the same 09:00 make one message, not three."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.node_started(f"B-{i}", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
                for i in range(3)
            ]
        },
    )
    await advance_hourly(api, at("2026-03-03T08:00"), at("2026-03-04T10:00"))
    conn = await asyncpg.connect(database_url)
    try:
        rows = opened_rows(
            await conn.fetch(
                "SELECT kind, body, note, context, sealed FROM messages"
                " WHERE channel = 'sms' AND kind IN ('node_due_soon', 'node_overdue') ORDER BY id"
            )
        )
    finally:
        await conn.close()
    assert [r["kind"] for r in rows] == ["node_due_soon", "node_overdue"]
    overdue = rows[1]
    assert "B-0、B-1等3件" in overdue["body"]
    assert overdue["context"]["merged_case_nos"] == ["B-0", "B-1", "B-2"]
    assert overdue["note"].startswith("3 notices merged")


async def test_old_fired_timers_are_pruned(api: Api, app, database_url: str) -> None:
    """Timers that fired more than 90 days ago are deleted; pending ones stay."""
    from hub.keys import PLANNER, POOL

    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events", ev.node_started("P-1", "n1", at("2026-03-02T10:00").isoformat(), limit=1)
    )
    await advance_hourly(api, at("2026-03-03T08:00"), at("2026-03-03T10:00"))
    planner, pool = app[PLANNER], app[POOL]
    assert await planner.prune(pool, at("2026-04-01T00:00")) == 0
    assert await planner.prune(pool, at("2026-07-01T00:00")) == 1  # the due-soon timer
    conn = await asyncpg.connect(database_url)
    try:
        left = await conn.fetch("SELECT kind, status FROM timers ORDER BY id")
    finally:
        await conn.close()
    assert [(r["kind"], r["status"]) for r in left] == [("node_overdue", "pending")]


async def test_an_escalation_chain_resumes_after_a_suspension_that_moved_nothing(
    api: Api, database_url: str
) -> None:
    """Suspended and resumed the same day, an overdue node's ladder goes on to the head."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("R-8", at("2026-03-02T10:00").isoformat()),
                ev.node_started("R-8", "n1", at("2026-03-02T10:00").isoformat(), limit=1),
            ]
        },
    )
    await advance_hourly(api, at("2026-03-04T08:00"), at("2026-03-04T10:00"))
    # Two separate arrivals: the suspension is in force for a while, then lifted.
    suspended = ev.simple("case.suspended", "R-8", at("2026-03-04T10:00").isoformat(), reason="x")
    await api.post("/v1/events", suspended)
    await advance_hourly(api, at("2026-03-04T11:00"), at("2026-03-04T15:00"))
    resumed = ev.simple("case.resumed", "R-8", at("2026-03-04T15:00").isoformat())
    await api.post("/v1/events", resumed)
    await advance_hourly(api, at("2026-03-04T16:00"), at("2026-03-05T10:00"))
    overdue = [(e[1], e[3]) for e in await log_of(database_url) if e[0] == "node_overdue"]
    assert overdue == [("p-li", at("2026-03-04T09:00")), ("p-head", at("2026-03-05T09:00"))]


async def test_a_provisional_promise_reads_so_on_every_channel_and_the_wap_page(
    api: Api, database_url: str
) -> None:
    """The acceptance SMS of a case due in 2027 names the date and says it is provisional."""
    await setup_department(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-12-20T10:00").isoformat()})
    await api.post("/v1/events", ev.accepted("R-8", at("2026-12-20T10:00").isoformat()))
    conn = await asyncpg.connect(database_url)
    try:
        bodies = {
            r["channel"]: r["body"]
            for r in opened_rows(
                await conn.fetch(
                    "SELECT channel, body, sealed FROM messages WHERE kind = 'case_accepted'"
                )
            )
        }
    finally:
        await conn.close()
    assert "承诺2027-01-18前办结（暂按法定节假日推算）" in bodies["sms"]
    for body in bodies.values():
        assert "承诺前" not in body and "2027-01-18" in body
