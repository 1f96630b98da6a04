"""People, departments, the supervision list, the OpenAPI document and the test clock."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from hub.api.views import level_of
from hub.app import create_app
from hub.settings import ApiKey, Settings
from hub.store import ingest as store
from tests.conftest import Api
from tests.integration import events as ev

MON = "2026-03-02T10:00:00+08:00"


async def test_put_person_creates_then_replaces(api: Api) -> None:
    """PUT /v1/people answers 201 the first time and 200 after, masking the mobile."""
    person = {
        "name": "李四",
        "mobile": "13900001111",
        "channels": ["wecom", "sms", "email"],
        "quiet_hours": "22:00-07:30",
        "away": {
            "from": "2026-03-02T00:00:00+08:00",
            "to": "2026-03-06T00:00:00+08:00",
            "deputy": "p-wang",
        },
    }
    status, body = await api.put("/v1/people/p-li", person)
    assert status == 201
    assert body["mobile"] == "139****1111"
    assert body["channels"] == ["wecom", "sms", "email"]
    assert body["away"]["deputy"] == "p-wang"
    status, body = await api.put("/v1/people/p-li", {**person, "channels": ["sms"], "away": None})
    assert status == 200
    assert body["channels"] == ["sms"] and body["away"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "x", "channels": ["pigeon"]}, "channels.0"),
        ({"name": "x", "channels": ["sms", "sms"]}, "channels"),
        ({"name": "x", "quiet_hours": "late"}, "quiet_hours"),
        ({"name": "x", "mobile": "555"}, "mobile"),
        ({"name": "x", "nickname": "y"}, "nickname"),
        (
            {
                "name": "x",
                "away": {
                    "from": "2026-03-06T00:00:00+08:00",
                    "to": "2026-03-02T00:00:00+08:00",
                    "deputy": "d",
                },
            },
            "away",
        ),
    ],
)
async def test_bad_people_are_refused_by_field(api: Api, body: dict, field: str) -> None:
    """Each invalid person field is named in the 422."""
    status, problem = await api.put("/v1/people/p-x", body)
    assert status == 422
    assert field in {e["field"] for e in problem["errors"]}


async def test_put_department_sets_the_ladder(api: Api) -> None:
    """A department's head, deputy and supervisors are stored as sent."""
    status, body = await api.put(
        "/v1/departments/SCJG",
        {"name": "市场监督管理局", "head": "p-head", "deputy": "p-dep", "supervisors": ["p-jc"]},
    )
    assert status == 201
    assert body == {
        "code": "SCJG",
        "name": "市场监督管理局",
        "head": "p-head",
        "deputy": "p-dep",
        "supervisors": ["p-jc"],
    }
    assert (await api.put("/v1/departments/SCJG", {"name": "市场监管局"}))[0] == 200


async def test_case_list_is_keyset_paginated_and_filtered(api: Api) -> None:
    """The supervision list pages through every case once, and filters by department and level."""
    batch = [ev.accepted(f"L-{i:03d}", MON, limit=3 if i % 3 == 0 else 20) for i in range(25)]
    batch.append(ev.accepted("L-ZJJ", MON, department={"code": "ZJJ", "name": "住建局"}))
    await api.post("/v1/events", {"events": batch})
    await api.post("/v1/test-clock/advance", {"to": "2026-03-04T10:00:00+08:00"})

    seen: list[str] = []
    cursor = None
    while True:
        path = "/v1/cases?limit=7" + (f"&cursor={cursor}" if cursor else "")
        status, page = await api.get(path)
        assert status == 200
        seen += [item["case_no"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [*sorted(f"L-{i:03d}" for i in range(25)), "L-ZJJ"]

    _, page = await api.get("/v1/cases?department=ZJJ")
    assert [i["case_no"] for i in page["items"]] == ["L-ZJJ"]
    _, page = await api.get("/v1/cases?level=yellow&limit=100")
    assert [i["case_no"] for i in page["items"]] == [f"L-{i:03d}" for i in range(0, 25, 3)]
    assert {i["level"] for i in page["items"]} == {"yellow"}


async def test_bad_list_parameters_are_422(api: Api) -> None:
    """Unknown levels, bad limits and forged cursors are named in a 422."""
    status, body = await api.get("/v1/cases?level=purple&limit=0")
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"level", "limit"}
    assert (await api.get("/v1/cases?cursor=%%%"))[0] == 422


async def test_sql_level_filter_agrees_with_the_shown_level(
    api: Api, database_url: str, clock
) -> None:
    """The level the list filters by in SQL is the level each case shows, at many instants."""
    batch = [
        ev.accepted("S-1", MON, limit=3),
        ev.accepted("S-2", MON, limit=5),
        ev.accepted("S-3", MON, limit=1),
        ev.simple("case.suspended", "S-2", "2026-03-05T10:00:00+08:00", reason="testing"),
        ev.accepted("S-4", MON, limit=2),
        ev.simple("case.decided", "S-4", "2026-03-03T10:00:00+08:00", decision="rejected"),
    ]
    await api.post("/v1/events", {"events": batch})
    conn = await asyncpg.connect(database_url)
    try:
        for day in range(2, 14):
            for hour in (8, 9, 23):
                now = datetime.fromisoformat(f"2026-03-{day:02d}T{hour:02d}:30:00+08:00")
                for level in ("green", "yellow", "red", "done"):
                    rows = await store.list_cases(
                        conn,
                        now=now,
                        department=None,
                        status=None,
                        level=level,
                        after=None,
                        limit=10,
                    )
                    for row in rows:
                        shown = level_of(
                            warn_at=row["warn_at"],
                            due_at=row["due_at"],
                            now=now,
                            completed_at=row["completed_at"],
                            suspended_since=row["suspended_since"],
                        )
                        assert shown == level, (row["case_no"], now, level)
    finally:
        await conn.close()


async def test_openapi_document_describes_every_event_type(api: Api) -> None:
    """The OpenAPI document is generated from the validating models: every event type is in it."""
    status, doc = await api.get("/v1/openapi.json", key=None)
    assert status == 200
    assert doc["openapi"].startswith("3.1")
    mapping = doc["components"]["schemas"]["Event"]["discriminator"]["mapping"]
    assert set(mapping) >= {"case.accepted", "node.started", "case.withdrawn"}
    assert "/v1/test-clock/advance" in doc["paths"]


async def test_test_clock_moves_forward_only(api: Api) -> None:
    """The manual clock advances by an instant or a duration and refuses to go back."""
    # Nothing was due: nothing fired, failed or was set aside (the 08:30 digest is a stop
    # on the way to the next morning, with no one to tell).
    for request, now in (
        ({"by": "PT2H"}, "2026-03-02T11:00:00+08:00"),
        ({"to": "2026-03-03T09:00:00+08:00"}, "2026-03-03T09:00:00+08:00"),
    ):
        status, answer = await api.post("/v1/test-clock/advance", request)
        assert status == 200
        assert answer["now"] == now
        assert (answer["fired"], answer["set_aside"], answer["failed"]) == (0, [], [])
    status, body = await api.post("/v1/test-clock/advance", {"to": "2026-03-01T09:00:00+08:00"})
    assert status == 422 and "cannot go back" in body["detail"]
    assert (await api.post("/v1/test-clock/advance", {"by": "soon"}))[0] == 422
    assert (await api.post("/v1/test-clock/advance", {}))[0] == 422


async def test_test_clock_route_does_not_exist_on_a_system_clock(
    settings: Settings, database_url: str
) -> None:
    """Without clock.mode = "manual" the advance route is a 404."""
    key = "admin-key-0001-of-a-real-hub"
    auth = settings.auth.model_copy(
        update={  # a real clock needs real secrets (hub/secret_policy.py)
            "api_keys": (ApiKey(key=SecretStr(key)),),
            "callback_token": SecretStr("callback-token-of-a-real-hub"),
            "link_secret": SecretStr("link-secret-of-a-real-hub"),
        }
    )
    system = settings.model_copy(
        update={
            "clock": settings.clock.model_copy(update={"mode": "system"}),
            "auth": auth,
            "privacy": settings.privacy.model_copy(
                update={"data_key": SecretStr("0f1e2d3c4b5a69788796a5b4c3d2e1f0")}
            ),
        }
    )
    client = TestClient(TestServer(create_app(system, database_url=database_url)))
    await client.start_server()
    try:
        resp = await client.post(
            "/v1/test-clock/advance",
            json={"by": "PT1H"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert resp.status == 404
    finally:
        await client.close()


async def test_people_contacts_are_stored_sealed_and_still_reach_them(
    api: Api, database_url: str
) -> None:
    """PUT /v1/people and node.started store no contact in clear (names stay), the answer
    masks them, and a 催办 still reaches the assignee's number; a person stored in clear
    before sealing is reached too."""
    person = {"name": "李四", "mobile": "13900001111", "email": "li@example.gov.cn"}
    status, body = await api.put("/v1/people/p-li", {**person, "channels": ["sms"]})
    assert status == 201
    assert (body["mobile"], body["email"]) == ("139****1111", "l***@example.gov.cn")
    zhao = {"id": "p-zhao", "name": "赵六", "mobile": "13700002222", "email": "zhao@x.gov.cn"}
    events = [
        ev.accepted("S-1", MON),
        ev.node_started("S-1", "n1", MON),
        {**ev.node_started("S-2", "n1", MON), "assignee": zhao},
        ev.accepted("S-2", MON),
    ]
    assert (await api.post("/v1/events", {"events": events}))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        rows = [r["row"] for r in await conn.fetch("SELECT people::text AS row FROM people")]
        audit = await conn.fetchval("SELECT string_agg(detail::text, ' ') FROM audit_log")
        # p-wang as a hub before sealing stored him: in clear, no index.
        await conn.execute(
            "INSERT INTO people (person_id, name, mobile, channels, updated_at)"
            " VALUES ('p-wang', '王五', '13600003333', '{sms}', now())"
        )
    finally:
        await conn.close()
    clear = ("13900001111", "li@example", "13700002222", "zhao@x")
    assert [r for r in rows if any(c in r for c in clear)] == []
    assert any("赵六" in r for r in rows) and any("李四" in r for r in rows)
    assert not any(c in (audit or "") for c in clear)
    assert (await api.post("/v1/cases/S-1/urge", {"by": "sup", "note": "请加快"}))[0] == 202
    assert (await api.post("/v1/cases/S-2/urge", {"by": "sup", "note": "请加快"}))[0] == 202
    wang = {**ev.node_started("S-3", "n1", MON), "assignee": {"id": "p-wang", "name": "王五"}}
    assert (await api.post("/v1/events", wang))[0] == 202
    assert (await api.post("/v1/cases/S-3/urge", {"by": "sup", "note": "请加快"}))[0] == 202
    _, log = await api.get("/v1/messages?kind=urge")
    reached = {(m["case_no"], m["channel"], m["recipient"]) for m in log["items"]}
    assert ("S-1", "sms", "13900001111") in reached
    assert ("S-3", "sms", "13600003333") in reached
    assert any(case == "S-2" and r in ("13700002222", "zhao@x.gov.cn") for case, _, r in reached)
