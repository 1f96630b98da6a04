"""/v1/rectifications: a poor rating opens one; verify and close by admin; bad input is 4xx."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from hub.keys import CLOCK, POOL, ROUTING
from hub.privacy.vault import Vault
from hub.rectifications.service import open_for_rating
from hub.replies.evaluations import rate_case
from hub.store.calendars import with_provisional_next_year
from tests.conftest import INGEST_KEY, SUPERVISOR_KEY, Api
from tests.integration import events as ev


async def centre(api: Api) -> None:
    """SCJG with a head (p-head) and a supervisor (p-sup), both reachable by SMS."""
    for person_id, name, mobile in (
        ("p-head", "王局长", "13900000001"),
        ("p-sup", "赵监察", "13900000002"),
    ):
        status, _ = await api.put(
            f"/v1/people/{person_id}", {"name": name, "mobile": mobile, "channels": ["sms"]}
        )
        assert status in (200, 201)
    status, _ = await api.put(
        "/v1/departments/SCJG",
        {"name": "市场监督管理局", "head": "p-head", "supervisors": ["p-sup"]},
    )
    assert status in (200, 201)


async def rated(api: Api, app: web.Application, case_no: str, rating: int, comment: str) -> None:
    """A case accepted and picked up on Monday 2 March 2026, rated at 10:00 the same day."""
    status, _ = await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted(case_no, "2026-03-02T09:00:00+08:00"),
                ev.simple("case.picked_up", case_no, "2026-03-02T09:30:00+08:00"),
            ]
        },
    )
    assert status == 202
    async with app[POOL].acquire() as conn:
        assert await rate_case(
            conn,
            case_no,
            rating,
            comment=comment,
            source="wap",
            now=app[CLOCK].now(),
            routing=app[ROUTING],
        )


async def messages(api: Api, kind: str) -> list[dict[str, Any]]:
    status, body = await api.get(f"/v1/messages?kind={kind}")
    assert status == 200
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_a_poor_rating_opens_one_rectification_and_tells_the_head(
    api: Api, app: web.Application
) -> None:
    """Rating 1 opens a rectification due 1 and 15 working days later; the head is told with
    masked name and mobile; a good rating opens none and a second poor one is absorbed."""
    await centre(api)
    await rated(api, app, "R-1", 1, "窗口让我跑了三趟")
    await rated(api, app, "R-2", 4, "")
    status, body = await api.get("/v1/rectifications", key=SUPERVISOR_KEY)
    assert status == 200
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["case_no"] == "R-1"
    assert item["department"] == "SCJG"
    assert (item["rating"], item["comment"], item["status"]) == (1, "窗口让我跑了三趟", "open")
    assert item["verify_due_at"] == "2026-03-03T23:59:59+08:00"
    assert item["rectify_due_at"] == "2026-03-23T23:59:59+08:00"
    assert item["level"] == "yellow"  # the call-back is due tomorrow
    [told] = await messages(api, "poor_rating")
    assert (told["person_id"], told["channel"]) == ("p-head", "sms")
    assert (
        "R-1" in told["body"]
        and "张*" in told["body"]
        and "张**" not in told["body"]
        and "138****5678" in told["body"]
    )
    assert "非常不满意（1分）" in told["body"] and "/wap/c/" in told["body"]
    async with app[POOL].acquire() as conn:
        again = await open_for_rating(
            conn,
            app[ROUTING],
            case_no="R-1",
            rating=2,
            comment=None,
            source="sms",
            now=app[CLOCK].now(),
        )
    assert again is None
    _, body = await api.get("/v1/rectifications")
    assert len(body["items"]) == 1


async def test_verify_and_close_answer_the_applicant_and_refuse_bad_input(
    api: Api, app: web.Application
) -> None:
    """Admin verifies then closes; the reply is texted to the applicant. Wrong roles get 403;
    unknown ids 404; a second verify or close 409; a bad outcome, an empty or an over-long
    reply 422 naming what is wrong — and none of those changes the rectification."""
    await centre(api)
    await rated(api, app, "R-1", 2, "")
    _, body = await api.get("/v1/rectifications")
    rid = body["items"][0]["id"]
    verify = {"by": "p-head", "finding": "电话回访，申请人反映材料被要求重复提交"}
    for key in (SUPERVISOR_KEY, INGEST_KEY):
        status, problem = await api.post(f"/v1/rectifications/{rid}/verify", verify, key=key)
        assert status == 403, problem
    status, problem = await api.get("/v1/rectifications", key=INGEST_KEY)
    assert status == 403
    for bad_id in ("999999", "abc", "1" * 30):
        status, problem = await api.post(f"/v1/rectifications/{bad_id}/verify", verify)
        assert status == 404, problem
    status, done = await api.post(f"/v1/rectifications/{rid}/verify", verify)
    assert status == 200, done
    assert done["status"] == "verified" and done["finding"] == verify["finding"]
    status, problem = await api.post(f"/v1/rectifications/{rid}/verify", verify)
    assert status == 409 and "already verified" in problem["detail"]

    good = {"by": "p-head", "outcome": "rectified", "reply": "已改为一次告知，感谢监督。"}
    for body_in, field in (
        (good | {"outcome": "ignored"}, "outcome"),
        (good | {"reply": "   "}, "reply"),
        ({"by": "p-head", "outcome": "rectified"}, "reply"),
    ):
        status, problem = await api.post(f"/v1/rectifications/{rid}/close", body_in)
        assert status == 422, problem
        assert problem["errors"][0]["field"] == field
    status, problem = await api.post(
        f"/v1/rectifications/{rid}/close", good | {"reply": "整改" * 120}
    )
    assert status == 422
    assert "3 segments" in problem["detail"] and "max_segments" in problem["detail"]
    assert problem["errors"][0]["field"] == "reply"
    status, problem = await api.post(f"/v1/rectifications/{rid}/close", good, key=SUPERVISOR_KEY)
    assert status == 403
    assert await messages(api, "rectification_reply") == []

    status, closed = await api.post(f"/v1/rectifications/{rid}/close", good)
    assert status == 200, closed
    assert (closed["status"], closed["outcome"], closed["level"]) == ("closed", "rectified", "done")
    assert closed["notices"] == 1
    [reply] = await messages(api, "rectification_reply")
    assert reply["recipient"] == "13812345678" and "已改为一次告知" in reply["body"]
    status, problem = await api.post(f"/v1/rectifications/{rid}/close", good)
    assert status == 409 and "closed" in problem["detail"]
    _, listed = await api.get("/v1/rectifications?status=closed&department=SCJG")
    assert [i["id"] for i in listed["items"]] == [rid]
    status, problem = await api.get("/v1/rectifications?status=lost")
    assert status == 422 and problem["errors"][0]["field"] == "status"


async def test_a_reminder_held_by_quiet_hours_is_cancelled_when_the_step_is_taken(
    api: Api, app: web.Application
) -> None:
    """The verify-overdue notice waits out the head's quiet hours; verifying meanwhile cancels
    it (stored as cancelled with the reason) and stops the ladder."""
    await centre(api)
    status, _ = await api.put(
        "/v1/people/p-head",
        {
            "name": "王局长",
            "mobile": "13900000001",
            "channels": ["sms"],
            "quiet_hours": "08:00-12:00",
        },
    )
    assert status in (200, 201)
    await rated(api, app, "R-1", 1, "")  # Monday 2 March 09:00: verify due Tuesday
    _, body = await api.get("/v1/rectifications")
    rid = body["items"][0]["id"]
    status, _ = await api.post("/v1/test-clock/advance", {"to": "2026-03-04T09:00:00+08:00"})
    assert status == 200
    [held] = await messages(api, "rectification_overdue")
    assert (held["person_id"], held["status"]) == ("p-head", "queued")
    status, _ = await api.post(
        f"/v1/rectifications/{rid}/verify", {"by": "p-head", "finding": "已回访"}
    )
    assert status == 200
    [held] = await messages(api, "rectification_overdue")
    assert held["status"] == "cancelled" and "verified" in held["error"]
    status, _ = await api.post("/v1/test-clock/advance", {"to": "2026-03-06T12:00:00+08:00"})
    assert len(await messages(api, "rectification_overdue")) == 1


async def test_a_rectification_opened_in_december_is_due_in_the_provisional_next_year(
    api: Api, app: web.Application
) -> None:
    """15 working days from Tuesday 15 December 2026 reach 2027, whose State Council notice is
    not imported: counted on the provisional year (New Year's Day off) and marked so."""
    await centre(api)
    await rated(api, app, "R-1", 4, "")  # a closed case; its rating here does not matter
    routing = app[ROUTING]
    routing = replace(routing, calendar=with_provisional_next_year(routing.calendar))
    async with app[POOL].acquire() as conn:
        rect = await open_for_rating(
            conn,
            routing,
            case_no="R-1",
            rating=2,
            comment=None,
            source="sms",
            now=datetime.fromisoformat("2026-12-15T10:00:00+08:00"),
        )
    assert rect is not None and rect.provisional
    _, body = await api.get(f"/v1/rectifications/{rect.id}")
    assert body["verify_due_at"] == "2026-12-16T23:59:59+08:00"
    assert body["rectify_due_at"] == "2027-01-06T23:59:59+08:00"
    assert body["provisional"] is True
    told = [m for m in await messages(api, "poor_rating") if m["case_no"] == "R-1"]
    assert "2027-01-06（暂定）" in told[0]["body"]


async def test_a_merged_reminder_held_by_quiet_hours_is_narrowed_when_it_leaves(
    api: Api, app: web.Application
) -> None:
    """Two verify-overdue reminders to the head merge into one held by quiet hours; one
    rectification is verified meanwhile, so the text that leaves names only the other."""
    await centre(api)
    status, _ = await api.put(
        "/v1/people/p-head",
        {
            "name": "王局长",
            "mobile": "13900000001",
            "channels": ["sms"],
            "quiet_hours": "08:00-12:00",
        },
    )
    assert status in (200, 201)
    await rated(api, app, "R-1", 1, "")
    await rated(api, app, "R-2", 2, "")
    _, body = await api.get("/v1/rectifications")
    ids = {r["case_no"]: r["id"] for r in body["items"]}
    await api.post("/v1/test-clock/advance", {"to": "2026-03-04T09:00:00+08:00"})
    [held] = await messages(api, "rectification_overdue")
    assert held["status"] == "queued" and "R-1" in held["body"] and "R-2" in held["body"]
    status, _ = await api.post(
        f"/v1/rectifications/{ids['R-1']}/verify", {"by": "p-head", "finding": "已回访"}
    )
    assert status == 200
    await api.post("/v1/test-clock/advance", {"to": "2026-03-04T12:00:00+08:00"})
    [left] = await messages(api, "rectification_overdue")
    assert left["status"] in ("sent", "delivered")
    assert "R-2" in left["body"] and "R-1" not in left["body"]


async def test_the_comment_and_the_reply_are_stored_sealed_and_shown_in_clear(
    api: Api, app: web.Application
) -> None:
    """The applicant's comment and the department's reply are sealed in the table and the
    audit trail holds no copy; the API, the listing and a rectification stored in clear
    before sealing all read as written."""
    await centre(api)
    await rated(api, app, "R-7", 1, "张三丰说窗口让他跑了两趟")
    _, body = await api.get("/v1/rectifications")
    rid = body["items"][0]["id"]
    reply = {"by": "p-head", "outcome": "rectified", "reply": "张三丰先生：已改为一次告知。"}
    status, closed = await api.post(f"/v1/rectifications/{rid}/close", reply)
    assert status == 200, closed
    assert (closed["comment"], closed["reply"]) == ("张三丰说窗口让他跑了两趟", reply["reply"])
    async with app[POOL].acquire() as conn:
        stored = await conn.fetchrow("SELECT comment, reply FROM rectifications WHERE id = $1", rid)
        audit = await conn.fetchval("SELECT string_agg(detail::text, ' ') FROM audit_log")
        # As a hub before sealing stored them: in clear.
        await conn.execute(
            "UPDATE rectifications SET comment = '太慢', reply = '已整改' WHERE id = $1", rid
        )
    assert Vault.is_sealed(stored["comment"]) and Vault.is_sealed(stored["reply"])
    assert "张三丰" not in (audit or "")
    _, listed = await api.get(f"/v1/rectifications/{rid}")
    assert (listed["comment"], listed["reply"]) == ("太慢", "已整改")
