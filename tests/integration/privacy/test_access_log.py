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
