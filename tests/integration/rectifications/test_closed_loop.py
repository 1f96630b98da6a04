"""The 好差评 closed loop end to end on the manual clock, across the National Day holiday.

Two applicants' cases close on Tuesday 29 September 2026 and both are rated
poorly by SMS reply. One department verifies and answers on time; for the
other the ladder climbs: the verify step is overdue on the first working day
after the holiday (Thursday 8 October, not during 1–7 October) to the head,
the next working day to the supervisor; the answer (15 working days: due
Monday 26 October, counting the 调休 Saturday 10 October) is due soon on Friday
23 October and overdue to the head on Tuesday 27 October, when it is closed
and the ladder stops. The stats and the supervision page show the figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hub.clock import ManualClock
from tests.conftest import SUPERVISOR_KEY, Api
from tests.integration import events as ev
from tests.integration.rectifications.test_api import centre, messages
from tests.integration.replies.test_inbound import text

TUESDAY = datetime.fromisoformat("2026-09-29T09:00:00+08:00")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(TUESDAY)


async def advance(api: Api, to: str) -> None:
    status, body = await api.post("/v1/test-clock/advance", {"to": to})
    assert status == 200, body


async def picked_up_and_prompted(api: Api, case_no: str, at: str, prompted_by: str) -> None:
    status, _ = await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted(case_no, "2026-09-21T09:00:00+08:00"),
                ev.simple("case.picked_up", case_no, at),
            ]
        },
    )
    assert status == 202
    await advance(api, prompted_by)  # the evaluation prompt goes out an hour after pickup


def sent(items: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    """(created_at, person, body) in order: when each notice was made and for whom."""
    return [
        (m["created_at"], m["person_id"], m["body"]) for m in sorted(items, key=lambda m: m["id"])
    ]


async def rectification_of(api: Api, case_no: str) -> dict[str, Any]:
    _, body = await api.get("/v1/rectifications")
    [found] = [r for r in body["items"] if r["case_no"] == case_no]
    return found


async def test_a_poor_sms_rating_is_verified_rectified_and_answered_with_the_ladder_across_national_day(  # noqa: E501
    api: Api,
) -> None:
    """See the module docstring: every notice on its working day, the reply to the applicant,
    the figures in the stats and on the supervision page."""
    await centre(api)
    await picked_up_and_prompted(
        api, "L-1", "2026-09-29T09:00:00+08:00", "2026-09-29T10:05:00+08:00"
    )
    await text(api, "1")  # 非常不满意, at 10:05
    await picked_up_and_prompted(
        api, "L-2", "2026-09-29T10:10:00+08:00", "2026-09-29T11:15:00+08:00"
    )
    await text(api, "2")  # 不满意, at 11:15

    late = await rectification_of(api, "L-1")
    prompt = await rectification_of(api, "L-2")
    assert (late["rating"], late["status"], late["level"]) == (1, "open", "yellow")
    assert late["verify_due_at"] == "2026-09-30T23:59:59+08:00"
    assert late["rectify_due_at"] == "2026-10-26T23:59:59+08:00"  # across National Day
    told = sent(await messages(api, "poor_rating"))
    assert [(at, who) for at, who, _ in told] == [
        ("2026-09-29T10:05:00+08:00", "p-head"),
        ("2026-09-29T11:15:00+08:00", "p-head"),
    ]
    assert "L-1" in told[0][2] and "非常不满意（1分）" in told[0][2] and "138****5678" in told[0][2]

    # L-2: called back the next day, answered on 12 October — both on time.
    await advance(api, "2026-09-30T10:00:00+08:00")
    status, _ = await api.post(
        f"/v1/rectifications/{prompt['id']}/verify",
        {"by": "p-head", "finding": "申请人反映等候时间长，属实"},
    )
    assert status == 200

    # L-1 is not verified: nothing during the holiday; the head on 8 Oct, the supervisor on 9 Oct.
    for instant in ("2026-10-07T23:00:00+08:00", "2026-10-08T08:59:00+08:00"):
        await advance(api, instant)
        assert await messages(api, "rectification_overdue") == []
    await advance(api, "2026-10-08T09:00:00+08:00")
    await advance(api, "2026-10-09T08:59:00+08:00")
    assert len(await messages(api, "rectification_overdue")) == 1
    await advance(api, "2026-10-09T09:00:00+08:00")
    overdue = sent(await messages(api, "rectification_overdue"))
    assert [(at, who) for at, who, _ in overdue] == [
        ("2026-10-08T09:00:00+08:00", "p-head"),
        ("2026-10-09T09:00:00+08:00", "p-sup"),
    ]
    assert "回访核实已超期1个工作日" in overdue[0][2]
    assert "回访核实已超期2个工作日" in overdue[1][2]
    await advance(api, "2026-10-09T09:30:00+08:00")
    status, verified = await api.post(
        f"/v1/rectifications/{late['id']}/verify",
        {"by": "p-head", "finding": "电话回访：窗口要求重复提交材料"},
    )
    assert status == 200 and verified["status"] == "verified"

    await advance(api, "2026-10-10T09:00:00+08:00")  # the 调休 Saturday: the ladder stopped
    await advance(api, "2026-10-12T10:00:00+08:00")
    assert len(await messages(api, "rectification_overdue")) == 2
    status, closed = await api.post(
        f"/v1/rectifications/{prompt['id']}/close",
        {"by": "p-head", "outcome": "rectified", "reply": "已增设取号窗口，感谢您的监督。"},
    )
    assert status == 200 and closed["notices"] == 1
    await advance(api, "2026-10-12T10:05:00+08:00")
    [reply] = await messages(api, "rectification_reply")
    assert reply["recipient"] == "13812345678" and reply["status"] in ("sent", "delivered")
    assert "已增设取号窗口" in reply["body"] and "L-2" in reply["body"]

    # L-1's answer: due soon on Friday 23 Oct, overdue to the head on Tuesday 27 Oct.
    await advance(api, "2026-10-23T08:59:00+08:00")
    assert await messages(api, "rectification_due_soon") == []
    await advance(api, "2026-10-23T09:00:00+08:00")
    [soon] = sent(await messages(api, "rectification_due_soon"))
    assert soon[:2] == ("2026-10-23T09:00:00+08:00", "p-head") and "L-1" in soon[2]
    await advance(api, "2026-10-26T23:59:00+08:00")
    assert (await rectification_of(api, "L-1"))["level"] == "yellow"
    await advance(api, "2026-10-27T08:59:00+08:00")
    assert len(await messages(api, "rectification_overdue")) == 2
    await advance(api, "2026-10-27T09:00:00+08:00")
    overdue = sent(await messages(api, "rectification_overdue"))
    assert overdue[2][:2] == ("2026-10-27T09:00:00+08:00", "p-head")
    assert "整改答复已超期1个工作日" in overdue[2][2]
    assert (await rectification_of(api, "L-1"))["level"] == "red"

    resp = await api.client.post("/supervise/login", data={"key": SUPERVISOR_KEY})
    assert resp.status == 200
    page = await (await api.client.get("/supervise/")).text()
    red = page.split('id="rectification-red-list"')[1].split("</section>")[0]
    assert "L-1" in red and "L-2" not in red

    status, closed = await api.post(
        f"/v1/rectifications/{late['id']}/close",
        {"by": "p-head", "outcome": "explained", "reply": "已向窗口人员说明一次告知制度。"},
    )
    assert status == 200
    await advance(api, "2026-10-28T09:00:00+08:00")  # the ladder stops with the closing
    await advance(api, "2026-10-29T09:00:00+08:00")
    assert len(await messages(api, "rectification_overdue")) == 3
    assert len(await messages(api, "rectification_reply")) == 2

    status, figures = await api.get("/v1/stats?from=2026-09-01&to=2026-10-31", key=SUPERVISOR_KEY)
    assert status == 200
    total = figures["total"]
    assert (total["poor_ratings"], total["rectified"]) == (2, 2)
    assert total["verified_on_time_rate"] == 0.5
    assert total["rectified_on_time_rate"] == 0.5
    await api.client.post("/supervise/login", data={"key": SUPERVISOR_KEY})  # 8 hours passed
    page = await (await api.client.get("/supervise/?from=2026-09-01&to=2026-10-31")).text()
    section = page.split('id="rectifications"')[1].split("<h2")[0]
    assert "红牌超期（0）" in section and "50.0%" in section
    report = await (await api.client.get("/supervise/reports/2026-09")).text()
    table = report.split('id="rectifications"')[1].split("</table>")[0]
    rows = {row.split("</td>")[0].split(">")[-1]: row for row in table.split("<tr>")[2:]}
    assert "已解释说明" in rows["L-1"] and "超期" in rows["L-1"]
    assert "已整改" in rows["L-2"] and "按时" in rows["L-2"] and "超期" not in rows["L-2"]
