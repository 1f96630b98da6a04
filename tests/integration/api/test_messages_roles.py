"""GET /v1/messages: only admin keys read codes, query codes, signed links and full mobiles."""

from __future__ import annotations

import json
import re

from hub.notices.links import TOKEN_IN_TEXT
from tests.conftest import ADMIN_KEY, SUPERVISOR_KEY, Api
from tests.integration import wap_data as data

FULL_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


async def _request_sms_code(api: Api, mobile: str) -> None:
    page = await (await api.client.get("/wap/")).text()
    resp = await api.client.post(
        "/wap/code", data={"csrf": data.csrf_of(page), "mobile": mobile}, allow_redirects=False
    )
    assert resp.status == 200


async def _log(api: Api, key: str) -> list[dict]:
    status, body = await api.get("/v1/messages?limit=500", key=key)
    assert status == 200
    return body["items"]


async def test_a_supervisor_reads_no_code_query_code_link_or_full_mobile(api: Api) -> None:
    """The probe's finding: a supervisor key read live SMS codes and the acceptance SMS whole."""
    await data.seed(api)
    await _request_sms_code(api, data.MOBILE)
    admin = await _log(api, ADMIN_KEY)
    codes = [
        re.search(r"验证码为(\d{6})", m["body"])[1]  # type: ignore[index]
        for m in admin
        if m["kind"] == "verification_code"
    ]
    assert codes, "the admin sees the code that went out"
    assert any(TOKEN_IN_TEXT.search(m["body"] or "") for m in admin)
    assert any(m["recipient"] == data.MOBILE for m in admin)

    supervisor = await _log(api, SUPERVISOR_KEY)
    assert [m["id"] for m in supervisor] == [m["id"] for m in admin]  # same rows, redacted
    text = json.dumps(supervisor, ensure_ascii=False)
    for code in codes:
        assert code not in text
    query_codes = [
        re.search(r"查询码(\d+)", m["body"])[1]  # type: ignore[index]
        for m in admin
        if m["kind"] == "case_accepted"
    ]
    assert data.QUERY_CODE in query_codes and len(query_codes) == 3
    for code in query_codes:
        assert code not in text
    assert not TOKEN_IN_TEXT.search(text), "a signed link token reached a supervisor"
    for m in admin:  # every token the admin sees, checked verbatim too
        for token in TOKEN_IN_TEXT.findall(m["body"] or ""):
            assert token not in text
    assert not FULL_MOBILE.search(text), "a full mobile number reached a supervisor"
    by_id = {m["id"]: m for m in supervisor}
    for m in admin:
        seen = by_id[m["id"]]
        assert seen["link"] is None
        if m["channel"] == "sms":
            assert seen["recipient"] == m["recipient"][:3] + "****" + m["recipient"][-4:]
        if m["kind"] in ("verification_code", "case_accepted"):
            assert seen["body"] != m["body"] and "已隐去" in seen["body"]
    # A reminder without secrets stays readable: the supervision duty needs its text.
    suspended = [m for m in supervisor if m["kind"] == "case_suspended"]
    assert suspended and all("暂停计时" in m["body"] for m in suspended)
    assert all("/wap/c/***" in m["body"] for m in suspended)
