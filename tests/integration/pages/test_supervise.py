"""The /supervise/ pages, the monthly report and the project managers' digests."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import struct
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from core.notices import ChannelKind, NoticeKind
from hub.cli import main
from hub.keys import POOL, SERVICES, VAULT
from hub.notices.outbox import Address, Notice, enqueue
from hub.notices.sealing import opened
from hub.pages.supervise.routes import COOKIE
from hub.planning.project_digest import project_digest_job
from hub.privacy.fields import WAP_COMPLAINTS_CONTENT
from hub.supervision import report
from tests.conftest import ADMIN_KEY, INGEST_KEY, SUPERVISOR_KEY, Api
from tests.integration import stats_month as sm


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def _complaint(api: Api, database_url: str, case_no: str, content: str, at: datetime) -> None:
    """A complaint as the WAP form stores it (content sealed), and its notice to each supervisor."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO wap_complaints (case_no, content, created_at) VALUES ($1, $2, $3)",
            case_no,
            api.vault.seal(content, field=WAP_COMPLAINTS_CONTENT),
            at,
        )
        for supervisor in ("p-jc", "p-jc2"):
            notice = Notice(
                kind=NoticeKind.COMPLAINT,
                dedupe_key=f"complaint:{case_no}:{supervisor}",
                addresses=[Address(channel=ChannelKind.WAP, recipient=supervisor)],
                context={
                    "case_no": case_no,
                    "matter": "食品经营许可",
                    "content": content,
                    "link": "x",
                },
                not_before=at,
                case_no=case_no,
                person_id=supervisor,
            )
            await enqueue(conn, [notice], now=at, max_attempts=3, vault=api.vault)
    finally:
        await conn.close()


async def _sign_in(api: Api, key: str) -> tuple[int, str]:
    """Post the login form; the status and the Set-Cookie header."""
    resp = await api.client.post("/supervise/login", data={"key": key}, allow_redirects=False)
    return resp.status, resp.headers.get("Set-Cookie", "")


async def test_a_supervisor_signs_in_and_sees_lists_table_trend_and_complaints(
    api: Api, database_url: str
) -> None:
    """After signing in with a supervisor key the page shows every part, escaped."""
    plans = sm.generate(60, seed=3)
    await sm.load_month(api, plans)
    await _complaint(
        api,
        database_url,
        plans[0].case_no,
        "<script>alert(1)</script>窗口推诿",
        sm.LO.replace(day=20),
    )

    resp = await api.client.get("/supervise/", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/supervise/login"
    status, set_cookie = await _sign_in(api, SUPERVISOR_KEY)
    assert status == 303
    assert set_cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/supervise"):
        assert attribute in set_cookie

    resp = await api.client.get("/supervise/?from=2026-03-01&to=2026-03-31")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    page = await resp.text()
    for text in (
        "红牌超期",
        "黄牌预警",
        "市场监督管理局",
        "生态环境局",
        "合计",
        "按时办结率",
        "项目0",
    ):
        assert text in page, text
    assert page.count('src="data:image/svg+xml;base64,') == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;窗口推诿" in page and "<script>" not in page
    assert page.count("窗口推诿") == 1  # two supervisors were told; one complaint


async def test_ingest_keys_and_forged_sessions_are_refused(api: Api) -> None:
    """An ingest key gets 403, a wrong key 401, and a forged or expired cookie the login form."""
    assert await _sign_in(api, INGEST_KEY) == (403, "")
    assert (await _sign_in(api, "not-a-key"))[0] == 401
    resp = await api.client.get("/supervise/", headers={"Authorization": f"Bearer {INGEST_KEY}"})
    assert resp.status == 403
    resp = await api.client.get("/supervise/", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert resp.status == 200
    for forged in (
        "supervisor.9999999999.AAAA",  # the old signed format: no longer a session
        "x" * 32,  # an id the database never issued
        "x" * 65,
    ):
        resp = await api.client.get(
            "/supervise/", headers={"Cookie": f"{COOKIE}={forged}"}, allow_redirects=False
        )
        assert resp.status == 303, forged


async def test_a_project_page_and_digest_cover_every_approval_across_departments(
    api: Api, app: web.Application
) -> None:
    """The project page lists its approvals in all departments; its manager hears of each change."""
    plans = sm.generate(60, seed=3)
    await sm.load_month(api, plans)
    members = [p for p in plans if p.project and p.project["id"] == "XM-1"]
    assert len({p.department for p in members}) >= 2

    resp = await api.client.get(
        "/supervise/projects/XM-1", headers={"Authorization": f"Bearer {SUPERVISOR_KEY}"}
    )
    assert resp.status == 200
    page = await resp.text()
    for plan in members:
        assert plan.case_no in page
    assert "项目1" in page
    missing = await api.client.get(
        "/supervise/projects/none", headers={"Authorization": f"Bearer {SUPERVISOR_KEY}"}
    )
    assert missing.status == 404

    now = sm.NOW_AFTER
    # The digest job runs with every clock advance, so the month's changes already went
    # out as they happened: nothing is left to send, and nothing was left out.
    assert await project_digest_job(app[SERVICES], now) == 0
    async with app[POOL].acquire() as conn:
        rows = await conn.fetch(
            "SELECT context, personal, sealed FROM messages"
            " WHERE dedupe_key LIKE 'project_digest:XM-1:%'"
        )
    assert rows
    content = "\n".join(opened(app[VAULT], r)["context"]["content"] for r in rows)
    assert all(p.case_no in content for p in members)
    await api.post(
        "/v1/events",
        sm._ev(members[0], 90, "case.closed", now),
        key=INGEST_KEY,
    )
    assert await project_digest_job(app[SERVICES], now) == 1


async def test_the_monthly_report_files_hold_the_figures_and_charts(
    api: Api, app: web.Application, tmp_path: Path
) -> None:
    """The report's CSV rows equal /v1/stats and its PNG charts have the drawn size."""
    plans = sm.generate(80, seed=5)
    await sm.load_month(api, plans)
    async with app[POOL].acquire() as conn:
        built = await report.build_report(
            conn, "2026-03", now=sm.NOW_AFTER, tz=sm.TZ, vault=app[VAULT]
        )
    paths = report.write_report(built, tmp_path)
    assert {p.name for p in paths} == {
        "report-2026-03.html",
        "report-2026-03.csv",
        "report-2026-03-on-time-rate.png",
        "report-2026-03-overdue.png",
    }
    for path in paths:
        if path.suffix == ".png":
            assert png_size(path.read_bytes()) == (800, 360)
            assert path.stat().st_size > 5000  # bars, labels and legend, not a blank canvas
    if os.environ.get("CUIBAN_DOCS_SCREENSHOT") == "1":
        chart = tmp_path / "report-2026-03-overdue.png"
        Path(__file__).parents[3].joinpath("docs", "report-chart.png").write_bytes(
            chart.read_bytes()
        )
    html = (tmp_path / "report-2026-03.html").read_text("utf-8")
    assert html.count('src="data:image/svg+xml;base64,') == 2

    status, body = await api.get("/v1/stats?from=2026-03&to=2026-03&group_by=department")
    assert status == 200
    rows = list(csv.reader(io.StringIO((tmp_path / "report-2026-03.csv").read_text("utf-8-sig"))))
    header, *data = rows
    assert header[:2] == ["部门代码", "部门"]
    expected = [*body["items"], {"key": "", "name": "合计", **body["total"]}]
    assert len(data) == len(expected)
    for row, item in zip(data, expected, strict=True):
        assert row[0] == (item["key"] or "") and row[1] == item["name"]
        for (name, _), cell in zip(report.CSV_COLUMNS, row[2:], strict=True):
            assert cell == ("" if item[name] is None else str(item[name])), name


async def test_the_monthly_report_is_mailed_once_on_the_first_working_day(
    api: Api, app: web.Application
) -> None:
    """The job waits for the month's first working day, then mails each supervisor once."""
    for person in ("p-jc", "p-jc2"):
        await api.put(f"/v1/people/{person}", {"name": "监察", "email": f"{person}@example.gov.cn"})
    await api.put("/v1/departments/SCJG", {"name": "市场监督管理局", "supervisors": ["p-jc"]})
    await api.put("/v1/departments/ZJJ", {"name": "住建局", "supervisors": ["p-jc", "p-jc2"]})
    # 1 May 2026 is Labour Day; the first working day of May is Wednesday 6 May.
    assert (
        await report.monthly_report_job(app[SERVICES], datetime(2026, 5, 5, 10, tzinfo=sm.TZ)) == 0
    )
    assert (
        await report.monthly_report_job(app[SERVICES], datetime(2026, 5, 6, 10, tzinfo=sm.TZ)) == 2
    )
    assert (
        await report.monthly_report_job(app[SERVICES], datetime(2026, 5, 7, 10, tzinfo=sm.TZ)) == 0
    )
    async with app[POOL].acquire() as conn:
        links = await conn.fetch(
            "SELECT DISTINCT link FROM messages WHERE dedupe_key LIKE 'monthly_report:2026-04:%'"
        )
    assert next(r["link"] for r in links).endswith("/supervise/reports/2026-04")


async def test_cuiban_report_writes_the_files_and_refuses_a_bad_month(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cuiban report --month`` writes HTML, CSV and charts; a bad month exits 2."""
    config = tmp_path / "cuiban.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\ndata_dir = "{tmp_path}"\n', "utf-8")
    monkeypatch.delenv("CUIBAN_CONFIG", raising=False)
    out = tmp_path / "out"
    code = await asyncio.to_thread(
        main, ["report", "--month", "2026-03", "--config", str(config), "--out", str(out)]
    )
    assert code == 0
    assert (
        (out / "report-2026-03.csv").read_text("utf-8-sig").splitlines()[-1].startswith(",合计,0,0")
    )
    assert main(["report", "--month", "2026-13", "--config", str(config)]) == 2


async def test_a_supervisor_urges_from_the_page_with_its_form_token(
    api: Api, database_url: str
) -> None:
    """The page's 催办 button urges the assignee; a form without its token changes nothing."""
    import re

    from tests.integration import events as ev

    await api.post("/v1/test-clock/advance", {"to": "2026-03-06T10:00:00+08:00"})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("SU-1", "2026-03-02T09:00:00+08:00", limit=3),
                ev.node_started("SU-1", "n1", "2026-03-02T09:30:00+08:00", limit=1),
            ]
        },
    )
    status, _ = await _sign_in(api, SUPERVISOR_KEY)
    assert status == 303
    page = await (await api.client.get("/supervise/")).text()
    match = re.search(
        r'action="/supervise/cases/SU-1/urge".*?name="csrf" value="([^"]+)"', page, re.S
    )
    assert match, "the red list offers a 催办 button"

    forged = await api.client.post(
        "/supervise/cases/SU-1/urge", data={"csrf": "forged"}, allow_redirects=False
    )
    assert forged.status == 403
    _, case = await api.get("/v1/cases/SU-1")
    assert case["urges"] == 0

    resp = await api.client.post(
        "/supervise/cases/SU-1/urge", data={"csrf": match[1]}, allow_redirects=False
    )
    assert resp.status == 303
    # The button's answer says what was queued, to whom, and when it goes (Friday: at once).
    confirmation = await api.client.get(resp.headers["Location"])
    text = await confirmation.text()
    assert confirmation.status == 200
    assert "已催办 SU-1" in text and "已向 1 位承办人发出催办" in text
    assert "即将发送" in text
    _, case = await api.get("/v1/cases/SU-1")
    assert case["urges"] == 1 and case["nodes"][0]["urges"] == 1
    _, log = await api.get("/v1/messages?case_no=SU-1&kind=urge")
    assert [m["person_id"] for m in log["items"]] == ["p-li"]
    _, audit = await api.get("/v1/audit?action=case.urge")
    assert [(a["subject"], a["actor"]) for a in audit["items"]] == [("SU-1", "supervise page")]


async def test_an_urge_out_of_hours_says_when_it_will_be_sent(api: Api) -> None:
    """A 催办 on a Saturday answers with the Monday office-start send time and the reason."""
    import re

    from tests.integration import events as ev

    await api.post("/v1/test-clock/advance", {"to": "2026-03-07T11:00:00+08:00"})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("SU-2", "2026-03-02T09:00:00+08:00", limit=3),
                ev.node_started("SU-2", "n1", "2026-03-02T09:30:00+08:00", limit=1),
            ]
        },
    )
    await _sign_in(api, SUPERVISOR_KEY)
    page = await (await api.client.get("/supervise/")).text()
    match = re.search(
        r'action="/supervise/cases/SU-2/urge".*?name="csrf" value="([^"]+)"', page, re.S
    )
    assert match
    resp = await api.client.post("/supervise/cases/SU-2/urge", data={"csrf": match[1]})
    text = await resp.text()
    assert resp.status == 200 and "已催办 SU-2" in text
    assert "将于 2026-03-09 09:00 星期一发送" in text
    assert "免打扰时段（22:00-07:30）" in text
    missing = await api.client.get("/supervise/urges/999999")
    assert missing.status == 404
