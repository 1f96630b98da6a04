"""The access log: every read of a case's personal data is recorded; supervisors read it."""

from __future__ import annotations

from aiohttp import web

from tests.conftest import SUPERVISOR_KEY, Api
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
