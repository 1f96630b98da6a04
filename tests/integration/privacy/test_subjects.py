"""Export and erasure of what is held about a mobile number: admin only, audited."""

from __future__ import annotations

from aiohttp import web

from hub.api.answers import Erasure, SubjectExport
from hub.keys import POOL, VAULT
from hub.privacy.fields import (
    INBOUND_SMS_MOBILE,
    INBOUND_SMS_TEXT,
    WAP_COMPLAINTS_CONTENT,
    mobile_index,
)
from hub.store.queries import Q
from tests.conftest import START, SUPERVISOR_KEY, Api
from tests.integration import events as ev

ZHANG = {"name": "张三丰", "mobile": "13812345678", "email": "zhangsf@example.cn"}
LI = {"name": "李小龙", "mobile": "13900002222"}
SUBJECT = "/v1/privacy/subjects/13812345678"


async def _seed(api: Api, app: web.Application) -> None:
    batch = [
        ev.accepted("SJ-DONE", "2026-03-02T09:00:00+08:00", applicant=ZHANG),
        ev.simple("case.closed", "SJ-DONE", "2026-03-02T09:20:00+08:00"),
        ev.accepted("SJ-OPEN", "2026-03-02T09:00:00+08:00", applicant=ZHANG),
        ev.accepted("SJ-LI", "2026-03-02T09:00:00+08:00", applicant=LI),
    ]
    assert (await api.post("/v1/events", {"events": batch}))[0] == 202
    assert (await api.put("/v1/lists/news", {"mobiles": ["13812345678", "13900002222"]}))[0] == 200
    vault = app[VAULT]
    async with app[POOL].acquire() as conn:
        await conn.fetchval(
            Q["insert_inbound_sms"],
            "aliyun",
            "sj-1",
            vault.seal("13812345678", field=INBOUND_SMS_MOBILE),
            vault.seal("CX SJ-DONE 我是张三丰", field=INBOUND_SMS_TEXT),
            "",
            "",
            START,
            START,
            mobile_index(vault, "13812345678"),
        )
        await conn.fetchval(
            Q["wap_complaint_insert"],
            "SJ-OPEN",
            vault.seal("窗口没人", field=WAP_COMPLAINTS_CONTENT),
            START,
        )
    assert (await api.post("/v1/test-clock/advance", {"by": "PT1H"}))[0] == 200


async def test_the_export_holds_everything_about_the_number_in_clear(
    api: Api, app: web.Application
) -> None:
    """Cases with applicant and events, messages with bodies, texts, lists; audited, masked."""
    await _seed(api, app)
    status, found = await api.get("/v1/privacy/subjects/+86 138-1234-5678")
    assert status == 200
    assert found["mobile"] == "13812345678"
    SubjectExport.model_validate(found)  # as documented in the OpenAPI document
    assert [c["case_no"] for c in found["cases"]] == ["SJ-DONE", "SJ-OPEN"]
    assert found["cases"][0]["applicant"] == {**ZHANG, "wechat_openid": None}
    assert found["cases"][0]["events"][0]["payload"]["applicant"]["name"] == "张三丰"
    assert found["cases"][0]["closed_at"].endswith("+08:00")
    sms = [m for m in found["messages"] if m["channel"] == "sms"]
    assert {m["case_no"] for m in sms} == {"SJ-DONE", "SJ-OPEN"}
    assert all(m["recipient"] == "13812345678" and "SJ-" in m["body"] for m in sms)
    assert [t["text"] for t in found["inbound_sms"]] == ["CX SJ-DONE 我是张三丰"]
    assert [c["content"] for c in found["cases"][1]["complaints"]] == ["窗口没人"]
    assert found["lists"] == ["news"]
    assert found["people"] == []
    await api.put("/v1/people/p-li", {"name": "李四", "mobile": "13900001111"})
    _, official = await api.get("/v1/privacy/subjects/13900001111")  # 李四, a reviewer
    assert official["people"] == [{"person_id": "p-li", "name": "李四"}]
    assert "SJ-LI" not in str(found)

    assert (await api.get(SUBJECT, key=SUPERVISOR_KEY))[0] == 403
    status, problem = await api.get("/v1/privacy/subjects/12345")
    assert status == 422 and problem["errors"][0]["field"] == "mobile"
    _, log = await api.get("/v1/audit?action=subject.exported")
    assert [(r["subject"], r["detail"]["cases"]) for r in log["items"]] == [
        ("138****5678", 2),
        ("139****1111", 0),
    ]


async def test_erasure_waits_for_open_cases_then_leaves_nothing_to_find(
    api: Api, app: web.Application
) -> None:
    """409 naming the open case; once it is closed the number's data is de-identified."""
    await _seed(api, app)
    resp = await api.client.delete(SUBJECT, headers={"Authorization": "Bearer admin-key-0001"})
    assert resp.status == 409
    assert resp.content_type == "application/problem+json"
    assert "SJ-OPEN" in (await resp.json(content_type=None))["detail"]

    await api.post("/v1/events", ev.simple("case.closed", "SJ-OPEN", "2026-03-02T11:00:00+08:00"))
    resp = await api.client.delete(SUBJECT, headers={"Authorization": "Bearer admin-key-0001"})
    assert resp.status == 200
    done = await resp.json()
    Erasure.model_validate(done)
    assert done["erased"]["cases"] == 2 and done["erased"]["subscribers"] == 1
    assert done["erased"]["inbound_sms"] == 1

    _, after = await api.get(SUBJECT)
    assert after["cases"] == [] and after["messages"] == [] and after["lists"] == []
    assert after["inbound_sms"] == []
    _, case = await api.get("/v1/cases/SJ-DONE")
    assert case["applicant"]["name"] == "张*"
    _, messages = await api.get("/v1/messages?case_no=SJ-DONE")
    assert all("13812345678" not in str(m) and "张三丰" not in str(m) for m in messages["items"])
    _, li = await api.get("/v1/privacy/subjects/13900002222")
    assert [c["case_no"] for c in li["cases"]] == ["SJ-LI"] and li["lists"] == ["news"]
    _, log = await api.get("/v1/audit?action=subject.erased")
    assert [(r["subject"], r["detail"]["case_nos"]) for r in log["items"]] == [
        ("138****5678", ["SJ-DONE", "SJ-OPEN"])
    ]
    _, cases = await api.get("/v1/audit?action=case.deidentified")
    assert [(r["subject"], r["detail"]["reason"]) for r in cases["items"]] == [
        ("SJ-DONE", "erasure"),
        ("SJ-OPEN", "erasure"),
    ]
