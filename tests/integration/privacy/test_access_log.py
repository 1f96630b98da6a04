"""The access log: every read of a case's personal data is recorded; supervisors read it."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from hub.keys import POOL, ROUTING
from hub.privacy.fields import WAP_COMPLAINTS_CONTENT
from hub.replies.evaluations import rate_case
from tests.conftest import (
    ADMIN_KEY,
    PERSON_SUPERVISOR_KEY,
    SCJG_SUPERVISOR_KEY,
    START,
    SUPERVISOR_KEY,
    UNBOUND_SUPERVISOR_KEY,
    Api,
)
from tests.integration import events as ev
from tests.integration.wap_data import case_link


async def test_api_and_wap_reads_are_logged_by_department(api: Api, app: web.Application) -> None:
    """Who read which case, when and how; a department's log holds only its own cases."""
    await api.post("/v1/events", ev.accepted("AL-1", "2026-03-02T09:00:00+08:00"))
    other = ev.accepted("AL-2", "2026-03-02T09:00:00+08:00")
    other["department"] = {"code": "GTZY", "name": "自然资源局"}
    await api.post("/v1/events", other)

    assert (await api.get("/v1/cases/AL-1"))[0] == 200
    assert (await api.get("/v1/cases/AL-1", key=SUPERVISOR_KEY))[0] == 200
    assert (await api.get("/v1/cases/AL-2"))[0] == 200
    resp = await api.client.get(case_link(app, "AL-1"))
    assert resp.status == 200
    assert (await api.get("/v1/cases/NO-SUCH"))[0] == 404  # nothing read, nothing logged

    status, page = await api.get("/v1/audit?action=case.read&department=SCJG", key=SUPERVISOR_KEY)
    assert status == 200
    rows = [
        (r["subject"], r["actor_role"], r["detail"]["via"], r["actor"].split(":")[0])
        for r in page["items"]
    ]
    assert rows == [
        ("AL-1", "admin", "api", "admin"),
        ("AL-1", "supervisor", "api", "supervisor"),
        ("AL-1", "applicant", "wap", "wap"),
    ]
    assert page["items"][2]["actor"].startswith("wap:link:")
    assert page["items"][0]["at"].endswith("+08:00")
    _, theirs = await api.get("/v1/audit?action=case.read&department=GTZY", key=SUPERVISOR_KEY)
    assert [r["subject"] for r in theirs["items"]] == ["AL-2"]


async def test_a_supervisor_reads_a_departments_access_log_on_the_page(
    api: Api, app: web.Application
) -> None:
    """/supervise/access-log lists the reads of one department's cases, newest first."""
    await api.post("/v1/events", ev.accepted("AL-3", "2026-03-02T09:00:00+08:00"))
    assert (await api.get("/v1/cases/AL-3", key=SUPERVISOR_KEY))[0] == 200
    assert (await api.client.get(case_link(app, "AL-3"))).status == 200

    resp = await api.client.get("/supervise/access-log", allow_redirects=False)
    assert resp.status == 303  # signed-in supervisors only
    signed = await api.client.post(
        "/supervise/login", data={"key": SUPERVISOR_KEY}, allow_redirects=False
    )
    assert signed.status == 303
    resp = await api.client.get("/supervise/access-log?department=SCJG")
    html = await resp.text()
    assert resp.status == 200
    rows = html.split('<table id="access-log">', 1)[1].split("<tr>")[2:]
    assert ["手机页面" in rows[0], "接口" in rows[1]] == [True, True]
    assert all("AL-3" in row and "SCJG" in row for row in rows)
    other = await (await api.client.get("/supervise/access-log?department=GTZY")).text()
    assert "没有记录" in other


async def _two_departments_read(api: Api) -> None:
    """AL-S in SCJG and AL-G in GTZY, each read once by the admin."""
    await api.post("/v1/events", ev.accepted("AL-S", "2026-03-02T09:00:00+08:00"))
    other = ev.accepted("AL-G", "2026-03-02T09:00:00+08:00")
    other["department"] = {"code": "GTZY", "name": "自然资源局"}
    await api.post("/v1/events", other)
    for case_no in ("AL-S", "AL-G"):
        assert (await api.get(f"/v1/cases/{case_no}"))[0] == 200


async def test_a_supervisor_key_reads_only_its_departments_log(api: Api) -> None:
    """departments = ["SCJG"]: SCJG's reads, 403 for GTZY's; ["*"] and admin read both."""
    await _two_departments_read(api)
    read = "/v1/audit?action=case.read"

    status, mine = await api.get(f"{read}&department=SCJG", key=SCJG_SUPERVISOR_KEY)
    assert status == 200
    assert [r["subject"] for r in mine["items"]] == ["AL-S"]
    _, unfiltered = await api.get(read, key=SCJG_SUPERVISOR_KEY)
    assert [r["subject"] for r in unfiltered["items"]] == ["AL-S"]
    status, refused = await api.get(f"{read}&department=GTZY", key=SCJG_SUPERVISOR_KEY)
    assert status == 403
    assert "SCJG" in refused["detail"] and "GTZY" in refused["detail"]

    for key in (SUPERVISOR_KEY, ADMIN_KEY):
        _, everything = await api.get(read, key=key)
        assert sorted(r["subject"] for r in everything["items"]) == ["AL-G", "AL-S"]
        assert (await api.get(f"{read}&department=GTZY", key=key))[0] == 200


async def test_a_persons_key_follows_the_departments_they_supervise(api: Api) -> None:
    """person = "p-zhou" sees the departments where PUT /v1/departments names them, at once."""
    await _two_departments_read(api)
    read = "/v1/audit?action=case.read"
    await api.put("/v1/people/p-zhou", {"name": "周监察"})
    assert (await api.get(read, key=PERSON_SUPERVISOR_KEY))[0] == 403  # supervises nothing yet

    await api.put("/v1/departments/GTZY", {"name": "自然资源局", "supervisors": ["p-zhou"]})
    status, page = await api.get(read, key=PERSON_SUPERVISOR_KEY)
    assert status == 200
    assert [r["subject"] for r in page["items"]] == ["AL-G"]
    assert (await api.get(f"{read}&department=SCJG", key=PERSON_SUPERVISOR_KEY))[0] == 403

    await api.put("/v1/departments/SCJG", {"name": "市场监督管理局", "head": "p-zhou"})
    _, both = await api.get(read, key=PERSON_SUPERVISOR_KEY)
    assert sorted(r["subject"] for r in both["items"]) == ["AL-G", "AL-S"]


async def test_a_supervisor_key_bound_to_nothing_is_told_how_to_bind_it(api: Api) -> None:
    """No departments and no person: 403 naming the settings, not every department's log."""
    await _two_departments_read(api)
    status, refused = await api.get("/v1/audit?action=case.read", key=UNBOUND_SUPERVISOR_KEY)
    assert status == 403
    assert "departments" in refused["detail"] and "[auth] api_keys" in refused["detail"]


async def _signed_in(api: Api, key: str) -> None:
    api.client.session.cookie_jar.clear()
    resp = await api.client.post("/supervise/login", data={"key": key}, allow_redirects=False)
    assert resp.status == 303


def _logged_cases(html: str) -> list[str]:
    if '<table id="access-log">' not in html:
        return []
    rows = html.split('<table id="access-log">', 1)[1].split("</tbody>")[0].split("<tr>")[2:]
    return [row.split('<td class="text">', 1)[1].split("<", 1)[0] for row in rows]


async def test_the_access_log_page_shows_a_supervisor_their_departments_only(api: Api) -> None:
    """Signed in with an SCJG key: SCJG's reads, a clear 403 page for GTZY; ["*"] sees both."""
    await _two_departments_read(api)

    await _signed_in(api, SCJG_SUPERVISOR_KEY)
    resp = await api.client.get("/supervise/access-log")
    html = await resp.text()
    assert resp.status == 200
    assert _logged_cases(html) == ["AL-S"]
    assert 'href="/supervise/access-log?department=SCJG"' in html  # where they may look
    resp = await api.client.get("/supervise/access-log?department=GTZY")
    html = await resp.text()
    assert resp.status == 403
    assert "您无权查看部门 GTZY 的访问记录" in html
    assert "AL-G" not in html

    await _signed_in(api, SUPERVISOR_KEY)
    resp = await api.client.get("/supervise/access-log")
    assert sorted(_logged_cases(await resp.text())) == ["AL-G", "AL-S"]


async def test_the_access_log_page_follows_the_signed_in_persons_departments(api: Api) -> None:
    """A key naming a person shows the departments they head or supervise; none: a 403 page."""
    await _two_departments_read(api)
    await api.put("/v1/people/p-zhou", {"name": "周监察"})

    await _signed_in(api, PERSON_SUPERVISOR_KEY)
    resp = await api.client.get("/supervise/access-log")
    assert resp.status == 403
    assert "未绑定任何部门" in await resp.text()

    await api.put("/v1/departments/SCJG", {"name": "市场监督管理局", "deputy": "p-zhou"})
    resp = await api.client.get("/supervise/access-log")
    assert resp.status == 200
    assert _logged_cases(await resp.text()) == ["AL-S"]

    await _signed_in(api, UNBOUND_SUPERVISOR_KEY)
    resp = await api.client.get("/supervise/access-log?department=SCJG")
    assert resp.status == 403
    assert "AL-S" not in await resp.text()


async def test_reads_of_the_message_log_are_logged_once_per_request(api: Api) -> None:
    """GET /v1/messages: one messages.read row per page, naming its cases by department."""
    await _two_departments_read(api)  # both applicants are 13812345678
    status, page = await api.get("/v1/messages?case_no=AL-S")
    assert status == 200 and page["items"]
    status, page = await api.get("/v1/messages?recipient=13812345678", key=SUPERVISOR_KEY)
    assert status == 200
    assert {m["case_no"] for m in page["items"]} == {"AL-S", "AL-G"}
    assert (await api.get("/v1/messages?case_no=NO-SUCH"))[1]["items"] == []  # nothing shown

    _, log = await api.get("/v1/audit?action=messages.read")
    by_case, by_number = log["items"]
    assert (by_case["subject"], by_case["actor_role"]) == ("AL-S", "admin")
    assert by_case["detail"]["cases"] == {"SCJG": ["AL-S"]}
    assert by_case["detail"]["asked"] == {"case_no": "AL-S"}
    assert (by_number["subject"], by_number["actor_role"]) == ("messages", "supervisor")
    assert by_number["detail"]["cases"] == {"GTZY": ["AL-G"], "SCJG": ["AL-S"]}
    assert by_number["detail"]["messages"] == len(page["items"])
    assert by_number["detail"]["asked"] == {"recipient": "138****5678"}
    assert "13812345678" not in str(log)  # the trail keeps no full number

    # A page at a time: one row per request, not one per message.
    _, first = await api.get("/v1/messages?recipient=13812345678&limit=1")
    await api.get(f"/v1/messages?recipient=13812345678&limit=1&cursor={first['next_cursor']}")
    _, log = await api.get("/v1/audit?action=messages.read")
    assert [r["detail"]["messages"] for r in log["items"]] == [
        by_case["detail"]["messages"],
        len(page["items"]),
        1,
        1,
    ]


async def test_a_departments_log_holds_message_log_reads_of_its_cases_only(api: Api) -> None:
    """SCJG's supervisor sees the reads that showed SCJG's cases, and only those cases."""
    await _two_departments_read(api)
    await api.get("/v1/messages?recipient=13812345678")
    await api.get("/v1/messages?case_no=AL-G")

    status, log = await api.get(
        "/v1/audit?action=messages.read&department=SCJG", key=SCJG_SUPERVISOR_KEY
    )
    assert status == 200
    [read] = log["items"]
    assert read["detail"]["cases"] == {"SCJG": ["AL-S"]}  # AL-G is GTZY's, not shown here
    assert read["detail"]["departments"] == ["SCJG"]
    _, everything = await api.get("/v1/audit?action=messages.read&department=GTZY")
    assert [r["detail"]["cases"] for r in everything["items"]] == [
        {"GTZY": ["AL-G"], "SCJG": ["AL-S"]},
        {"GTZY": ["AL-G"]},
    ]

    await _signed_in(api, SCJG_SUPERVISOR_KEY)
    html = await (await api.client.get("/supervise/access-log")).text()
    assert "消息记录（接口）" in html
    assert "AL-G" not in html
    assert _logged_cases(html)[0].startswith("AL-S（消息记录")


async def test_supervision_pages_that_show_applicants_words_are_logged_once_per_view(
    api: Api, database_url: str
) -> None:
    """/supervise/ shows complaints: one supervise.read row naming their cases per view, in
    each department's log with that department's cases only."""
    await _two_departments_read(api)
    conn = await asyncpg.connect(database_url)
    try:
        for case_no in ("AL-S", "AL-G"):
            await conn.execute(
                "INSERT INTO wap_complaints (case_no, content, created_at) VALUES ($1, $2, $3)",
                case_no,
                api.vault.seal("窗口态度差", field=WAP_COMPLAINTS_CONTENT),
                START,
            )
    finally:
        await conn.close()

    await _signed_in(api, SUPERVISOR_KEY)
    assert (await api.client.get("/supervise/")).status == 200
    _, log = await api.get("/v1/audit?action=supervise.read")
    [view] = log["items"]
    assert (view["subject"], view["actor_role"]) == ("/supervise/", "supervisor")
    assert view["detail"]["cases"] == {"GTZY": ["AL-G"], "SCJG": ["AL-S"]}
    assert view["detail"]["via"] == "supervise"

    await _signed_in(api, SCJG_SUPERVISOR_KEY)
    html = await (await api.client.get("/supervise/access-log")).text()
    assert "电子监察首页" in html
    assert "AL-G" not in html


async def test_reads_of_texts_received_and_of_rectifications_are_logged(
    api: Api, app: web.Application
) -> None:
    """GET /v1/inbound-sms and /v1/rectifications show applicants' words: one row a request."""
    picked = ev.simple("case.picked_up", "AL-R", "2026-03-02T09:30:00+08:00")
    accepted = ev.accepted("AL-R", "2026-03-02T09:00:00+08:00")
    await api.post("/v1/events", {"events": [accepted, picked]})
    body = [
        {
            "phone_number": "13812345678",
            "send_time": "2026-03-02 10:00:00",
            "content": "CX AL-R",
            "sign_name": "",
            "dest_code": "1",
            "sequence_id": 7,
        }
    ]
    resp = await api.client.post("/v1/callbacks/sms/aliyun/up?token=change-me-too", json=body)
    assert resp.status == 200
    async with app[POOL].acquire() as conn:
        assert await rate_case(
            conn, "AL-R", 1, comment="太慢", source="wap", now=START, routing=app[ROUTING]
        )

    status, texts = await api.get("/v1/inbound-sms?mobile=13812345678", key=SUPERVISOR_KEY)
    assert status == 200 and len(texts["items"]) == 1
    status, rects = await api.get("/v1/rectifications", key=SUPERVISOR_KEY)
    assert status == 200 and rects["items"][0]["comment"] == "太慢"
    rect_id = rects["items"][0]["id"]
    assert (await api.get(f"/v1/rectifications/{rect_id}"))[0] == 200

    _, log = await api.get("/v1/audit?department=SCJG")
    reads = [
        (r["action"], r["subject"], r["detail"]["cases"])
        for r in log["items"]
        if r["action"] in ("inbound_sms.read", "rectifications.read")
    ]
    assert reads == [
        ("inbound_sms.read", "inbound-sms", {"SCJG": ["AL-R"]}),
        ("rectifications.read", "rectifications", {"SCJG": ["AL-R"]}),
        ("rectifications.read", "AL-R", {"SCJG": ["AL-R"]}),
    ]
    [inbound] = [r for r in log["items"] if r["action"] == "inbound_sms.read"]
    assert inbound["detail"]["asked"] == {"mobile": "138****5678"}
