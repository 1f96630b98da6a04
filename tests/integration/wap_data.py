"""Cases, people and links the WAP tests share (HTTP-level and browser tests alike)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from hub.clock import ManualClock
from hub.keys import CLOCK, ROUTING
from tests.conftest import Api
from tests.integration import events as ev

MOBILE = "13812345678"
OTHER_MOBILE = "13700001111"
QUERY_CODE = "246810"
CLOSED_CODE = "135790"
ID_NUMBER = "110101199003071234"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')

OPEN_CASE = "WAP-1"
CLOSED_CASE = "WAP-2"
RED_CASE = "WAP-3"


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match[1]


def applicant(name: str = "张三丰", mobile: str = MOBILE) -> dict[str, Any]:
    # An ID number an approval system might send: ingest keeps it in the raw event only.
    return {"name": name, "mobile": mobile, "id_number": ID_NUMBER}


async def seed(
    api: Api,
    *,
    name: str = "张三丰",
    matter: str = "食品经营许可",
    reason: str = "expert_review",
    node_name: str = "审查",
) -> None:
    """An open suspended case, a closed one and an overdue one; a reviewer and a supervisor."""
    for person_id, person_name, mobile in [
        ("p-li", "李四", "13900001111"),
        ("p-head", "王局长", "13900002222"),
    ]:
        status, _ = await api.put(
            f"/v1/people/{person_id}",
            {"name": person_name, "mobile": mobile, "channels": ["sms"]},
        )
        assert status == 201
    # The supervisor has no mobile: notices reach the WAP inbox only.
    status, _ = await api.put("/v1/people/p-sup", {"name": "周监察", "channels": []})
    assert status == 201
    status, _ = await api.put(
        "/v1/departments/SCJG",
        {"name": "市场监督管理局", "head": "p-head", "supervisors": ["p-sup"]},
    )
    assert status == 201
    matter_ref = {"code": "SC-101", "name": matter}
    batch = [
        ev.accepted(
            OPEN_CASE,
            "2026-02-26T10:00:00+08:00",
            applicant=applicant(name),
            matter=matter_ref,
            query_code=QUERY_CODE,
        ),
        ev.node_started(OPEN_CASE, "n1", "2026-02-26T10:30:00+08:00", limit=5, name=node_name),
        ev.simple("case.suspended", OPEN_CASE, "2026-02-27T09:00:00+08:00", reason=reason),
        ev.accepted(
            CLOSED_CASE,
            "2026-02-02T10:00:00+08:00",
            applicant=applicant(name),
            matter=matter_ref,
            query_code=CLOSED_CODE,
        ),
        ev.node_started(CLOSED_CASE, "n1", "2026-02-02T11:00:00+08:00", limit=3),
        ev.node_completed(CLOSED_CASE, "n1", "2026-02-03T15:00:00+08:00"),
        ev.simple("case.decided", CLOSED_CASE, "2026-02-04T10:00:00+08:00", decision="approved"),
        ev.simple(
            "case.ready_for_pickup",
            CLOSED_CASE,
            "2026-02-05T10:00:00+08:00",
            location="市民中心B区3号窗口",
            documents=["身份证原件"],
        ),
        ev.simple("case.picked_up", CLOSED_CASE, "2026-02-06T10:00:00+08:00"),
        ev.accepted(
            RED_CASE,
            "2026-02-09T10:00:00+08:00",
            applicant=applicant("李雷", OTHER_MOBILE),
            limit=20,
        ),
        # Red at the test clock's start (09:00 on Mon 2 March): due Thu 26 Feb.
        ev.node_started(RED_CASE, "r1", "2026-02-24T10:00:00+08:00", limit=2, name="现场核查"),
    ]
    status, body = await api.post("/v1/events", {"events": batch})
    assert status == 202, body


def case_link(app: web.Application, case_no: str) -> str:
    clock = app_clock(app)
    return f"/wap/c/{app[ROUTING].links.sign('c', case_no, now=clock.now())}"


def inbox_link(app: web.Application, person_id: str) -> str:
    clock = app_clock(app)
    return f"/wap/inbox/{app[ROUTING].links.sign('i', person_id, now=clock.now())}"


def app_clock(app: web.Application) -> ManualClock:
    clock = app[CLOCK]
    assert isinstance(clock, ManualClock)
    return clock
