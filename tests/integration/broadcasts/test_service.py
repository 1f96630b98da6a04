"""通知公告 (issue 10): audiences, dry run, dedupe, opt-outs, quiet hours, pacing, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from hub.privacy.fields import OPT_OUTS_MOBILE, mobile_index
from tests.conftest import START, SUPERVISOR_KEY, Api, opened_rows
from tests.integration import events as ev


async def seed_applicants(
    database_url: str, count: int, *, prefix: str = "BC", first_mobile: int = 13600000000
) -> None:
    """``count`` open cases whose applicants have consecutive mobiles, straight into the table."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            INSERT INTO cases (case_no, status, matter_code, department_code, applicant,
                               created_at, updated_at)
            SELECT $1 || '-' || i, 'accepted',
                   CASE WHEN i % 2 = 0 THEN 'SC-101' ELSE 'JS-201' END, 'SCJG',
                   jsonb_build_object('name', '申请人' || i, 'mobile', ($2::bigint + i)::text),
                   $3, $3
              FROM generate_series(1, $4::int) AS i
            """,
            prefix,
            first_mobile,
            START,
            count,
        )
    finally:
        await conn.close()


async def sql(database_url: str, query: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(query, *args)
    finally:
        await conn.close()
    if "FROM messages" not in query or "recipient" not in query.split("FROM")[0]:
        return list(rows)
    # Recipients are sealed: opened, then in the order the query's ORDER BY meant.
    return sorted(opened_rows(rows), key=lambda r: (r["channel"], r["recipient"]))


async def directory(api: Api) -> None:
    """Two departments: SCJG with a head, a deputy, a supervisor and one reviewer."""
    people = {
        "p-head": {"name": "王局", "mobile": "13900000001", "channels": ["sms"]},
        "p-deputy": {"name": "赵副", "email": "zhao@example.cn", "channels": ["email", "sms"]},
        "p-sup": {"name": "钱督", "mobile": "+86 139-0000-0003"},
        "p-li": {"name": "李四", "mobile": "13900001111"},
        "p-other": {"name": "孙局", "mobile": "13900000009"},
    }
    for person_id, body in people.items():
        status, _ = await api.put(f"/v1/people/{person_id}", body)
        assert status in (200, 201), person_id
    await api.put(
        "/v1/departments/SCJG",
        {"name": "市场监管局", "head": "p-head", "deputy": "p-deputy", "supervisors": ["p-sup"]},
    )
    await api.put("/v1/departments/ZJ", {"name": "住建局", "head": "p-other"})
    await api.post("/v1/events", ev.accepted("D-1", START.isoformat()))
    await api.post("/v1/events", ev.node_started("D-1", "n1", START.isoformat(), assignee="p-li"))


def announcement(**extra: Any) -> dict[str, Any]:
    return {"title": "系统维护", "content": "3月15日晚网上大厅暂停服务", **extra}


async def test_dry_run_counts_recipients_segments_and_cost_and_stores_nothing(
    api: Api, database_url: str
) -> None:
    """A dry run lists recipients per channel, SMS segments, cost and a sample; no row is stored."""
    await directory(api)
    await seed_applicants(database_url, 30)
    # One opt-out stored in clear before sealing, one as TD stores it now (sealed).
    await sql(database_url, "INSERT INTO opt_outs (mobile, at) VALUES ('13600000005', now())")
    await sql(
        database_url,
        "INSERT INTO opt_outs (mobile, at, mobile_index) VALUES ($1, now(), $2)",
        api.vault.seal("13600000006", field=OPT_OUTS_MOBILE),
        mobile_index(api.vault, "13600000006"),
    )
    status, preview = await api.post(
        "/v1/broadcasts?dry_run=true",
        announcement(audience={"departments": ["SCJG"], "applicants": {}}),
    )
    assert status == 200, preview
    # Applicants: 30 SMS (two opted out) + D-1's; SCJG: head, sup, li (the deputy has only an
    # e-mail address, and e-mail is off in this centre: the WAP inbox alone).
    assert preview["recipients"] == {"sms": 28 + 1 + 3, "wap": 4}
    assert preview["skipped"] == {"opted_out": 2}
    assert preview["sms_segments"] == 1
    assert preview["estimated_cost"]["messages"] == 32
    assert preview["sample"]["sms"]["body"].startswith("系统维护：3月15日晚网上大厅暂停服务")
    assert preview["sample"]["wap"]["subject"] == "系统维护"
    rows = await sql(database_url, "SELECT count(*) AS n FROM messages WHERE kind='announcement'")
    assert rows[0]["n"] == 0
    assert (await sql(database_url, "SELECT count(*) AS n FROM broadcasts"))[0]["n"] == 0


async def test_department_announcement_reaches_people_once_and_their_wap_inbox(
    api: Api, database_url: str
) -> None:
    """Department people get one push on their first channel and one WAP inbox entry each;
    numbers are normalised; every department's head is reached with department_heads."""
    await directory(api)
    status, view = await api.post(
        "/v1/broadcasts",
        announcement(
            audience={"departments": ["SCJG"], "department_heads": True},
            channels=["sms", "email", "wap"],
        ),
    )
    assert status == 201, view
    rows = await sql(
        database_url,
        "SELECT channel, recipient, person_id, priority, sealed FROM messages"
        " WHERE broadcast_id = $1 ORDER BY channel, recipient",
        view["id"],
    )
    assert [(r["channel"], r["recipient"], r["person_id"]) for r in rows] == [
        ("sms", "13900000001", None),
        ("sms", "13900000003", None),  # +86 139-0000-0003, normalised
        ("sms", "13900000009", None),  # ZJ's head: every department's head
        ("sms", "13900001111", None),  # p-li, assigned a SCJG node
        ("wap", "p-deputy", "p-deputy"),
        ("wap", "p-head", "p-head"),
        ("wap", "p-li", "p-li"),
        ("wap", "p-other", "p-other"),
        ("wap", "p-sup", "p-sup"),
    ]
    # Stored sealed (issue 19): no number, in the address or the dedupe key, in clear.
    for raw in await sql(
        database_url, "SELECT * FROM messages WHERE broadcast_id = $1", view["id"]
    ):
        assert raw["sealed"].startswith("sm4:") and raw["recipient_index"] is not None
        assert "139000" not in " ".join(str(v) for v in dict(raw).values())
    assert {r["priority"] for r in rows} == {10}
    assert view["recipients"] == 9
    await api.post("/v1/test-clock/advance", {"by": "PT1M"})
    status, view = await api.get(f"/v1/broadcasts/{view['id']}", key=SUPERVISOR_KEY)
    assert status == 200
    assert view["counts"]["sent"] == 4 and view["counts"]["delivered"] == 5
    assert view["status"] == "done"
    # The reviewer's inbox lists it.
    inbox = await sql(
        database_url,
        "SELECT kind, subject FROM messages WHERE person_id = 'p-li' AND channel = 'wap'",
    )
    assert [(r["kind"], r["subject"]) for r in inbox] == [("announcement", "系统维护")]


async def test_subscriber_list_is_kept_and_a_number_is_texted_once(
    api: Api, database_url: str
) -> None:
    """PUT /v1/lists/{name} replaces the list; a number on the list and of an applicant is
    texted once; bad addresses are refused by field."""
    status, problem = await api.put("/v1/lists/typhoon", {"mobiles": ["12345"]})
    assert status == 422 and problem["errors"][0]["field"] == "mobiles[0]"
    status, listed = await api.put(
        "/v1/lists/typhoon",
        {"mobiles": ["13600000001", "+8613700000002", "13700000002"], "emails": ["A@B.cn"]},
    )
    assert status == 200 and (listed["mobiles"], listed["emails"]) == (2, 1)
    stored = await sql(database_url, "SELECT address, address_index FROM subscribers")
    assert len(stored) == 3 and all(r["address_index"] for r in stored)
    assert not any(d in r["address"] for r in stored for d in ("1360", "1370", "b.cn"))
    # A subscriber stored in clear before sealing is still reached.
    await sql(
        database_url,
        "INSERT INTO subscribers (list_name, channel, address, added_at)"
        " VALUES ('typhoon', 'sms', '13800000009', now())",
    )
    await seed_applicants(database_url, 2)
    status, view = await api.post(
        "/v1/broadcasts", announcement(audience={"lists": ["typhoon"], "applicants": {}})
    )
    assert status == 201, view
    rows = await sql(
        database_url,
        "SELECT channel, recipient, sealed FROM messages WHERE broadcast_id = $1 ORDER BY 1, 2",
        view["id"],
    )
    # email is not enabled in this centre's settings: SMS only.
    assert [(r["channel"], r["recipient"]) for r in rows] == [
        ("sms", "13600000001"),
        ("sms", "13600000002"),
        ("sms", "13700000002"),
        ("sms", "13800000009"),
    ]
    status, problem = await api.post("/v1/broadcasts", announcement(audience={"lists": ["nope"]}))
    assert status == 422 and "nope" in problem["detail"]


async def test_rows_are_spread_at_the_rate_and_pause_over_quiet_hours(
    api: Api, database_url: str
) -> None:
    """At 20 per second from 21:59:50 the 201st row waits for 07:30 next morning instead of
    queueing in the quiet hours; the WAP entries and a later broadcast queue behind."""
    await seed_applicants(database_url, 402)
    send_at = "2026-03-02T21:59:50+08:00"
    status, view = await api.post(
        "/v1/broadcasts",
        announcement(audience={"applicants": {"matters": ["SC-101"]}}, send_at=send_at),
    )
    assert status == 201, view
    slots = await sql(
        database_url,
        "SELECT not_before FROM messages WHERE broadcast_id = $1 ORDER BY not_before",
        view["id"],
    )
    assert len(slots) == 201
    first = datetime.fromisoformat(send_at)
    assert slots[0]["not_before"] == first
    assert (slots[199]["not_before"] - slots[198]["not_before"]).total_seconds() == 0.05
    assert slots[199]["not_before"] == datetime.fromisoformat("2026-03-02T21:59:59.950+08:00")
    assert slots[200]["not_before"] == datetime.fromisoformat("2026-03-03T07:30:00+08:00")
    # A second broadcast on SMS starts where the first one's queue ends.
    status, second = await api.post(
        "/v1/broadcasts", announcement(audience={"applicants": {"matters": ["JS-201"]}})
    )
    assert status == 201
    start = await sql(
        database_url,
        "SELECT min(not_before) AS t FROM messages WHERE broadcast_id = $1",
        second["id"],
    )
    assert start[0]["t"] == datetime.fromisoformat("2026-03-03T07:30:00.050+08:00")


async def test_cancel_stops_queued_rows_in_one_statement_and_a_retry_too(
    api: Api, database_url: str
) -> None:
    """Cancel marks every queued row cancelled; a row in flight that then fails is not retried."""
    await seed_applicants(database_url, 100)
    status, view = await api.post("/v1/broadcasts", announcement(audience={"applicants": {}}))
    assert status == 201
    bid = view["id"]
    # One row was claimed by a worker just before the cancel.
    await sql(
        database_url,
        "UPDATE messages SET status = 'sending', lease_owner = 'w1' WHERE id = "
        "(SELECT min(id) FROM messages WHERE broadcast_id = $1)",
        bid,
    )
    status, view = await api.post(f"/v1/broadcasts/{bid}/cancel", {})
    assert status == 200
    assert view["cancelled_now"] == 99 and view["status"] == "cancelled"
    assert view["counts"]["cancelled"] == 99 and view["counts"]["sending"] == 1
    # The worker's attempt fails transiently: the trigger ends it instead of a retry.
    await sql(
        database_url,
        "UPDATE messages SET status = 'failed', error = 'timeout' WHERE broadcast_id = $1"
        " AND status = 'sending'",
        bid,
    )
    rows = await sql(
        database_url,
        "SELECT status, error_code, error FROM messages WHERE broadcast_id = $1 AND error LIKE"
        " '%timeout%'",
        bid,
    )
    assert [(r["status"], r["error_code"]) for r in rows] == [("cancelled", "broadcast_cancelled")]
    await api.post("/v1/test-clock/advance", {"by": "PT1H"})
    _, view = await api.get(f"/v1/broadcasts/{bid}")
    assert view["counts"]["sent"] == 0 and view["counts"]["cancelled"] == 100


async def test_same_key_resumes_the_broadcast_instead_of_sending_twice(
    api: Api, database_url: str
) -> None:
    """Posting again with the same key answers the existing broadcast and queues nothing new."""
    await seed_applicants(database_url, 10)
    body = announcement(key="typhoon-2026-03", audience={"applicants": {}})
    status, first = await api.post("/v1/broadcasts", body)
    assert status == 201
    status, again = await api.post("/v1/broadcasts", body)
    assert status == 200 and again["id"] == first["id"]
    rows = await sql(
        database_url, "SELECT count(*) AS n FROM messages WHERE broadcast_id IS NOT NULL"
    )
    assert rows[0]["n"] == 10


async def test_bad_requests_get_problems(api: Api) -> None:
    """An empty audience, an unknown broadcast and a non-admin key are refused plainly."""
    status, problem = await api.post("/v1/broadcasts", announcement(audience={}))
    assert status == 422 and problem["errors"][0]["field"] == "audience"
    status, _ = await api.get("/v1/broadcasts/999")
    assert status == 404
    status, _ = await api.get("/v1/broadcasts/abc")
    assert status == 404
    status, _ = await api.post(
        "/v1/broadcasts", announcement(audience={"applicants": {}}), key=SUPERVISOR_KEY
    )
    assert status == 403
