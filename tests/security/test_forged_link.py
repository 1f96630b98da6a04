"""Issue 13's hostile probe, replayed: no token of one kind opens a page meant for another."""

from __future__ import annotations

import base64
import re

from tests.conftest import ADMIN_KEY, Api
from tests.integration import events as ev

# A case number of 16+ characters: what the /wap/ CSRF cookie accepts as its value.
CASE_NO = "NJ20260302-00420"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def test_a_form_token_cannot_be_turned_into_a_case_link(api: Api) -> None:
    """The probe's forged link (cookie = case number, link = "csrf" + case + form MAC) is refused.

    Before the fix the form token was HMAC(link_secret, "csrf|" + cookie) and a case
    link's MAC HMAC(link_secret, head + "|" + subject): with head ``csrf`` the two
    coincided, and the link opened the case page with no query code until 2122.
    """
    status, _ = await api.post(
        "/v1/events", {"events": [ev.accepted(CASE_NO, "2026-03-02T09:00:00+08:00")]}
    )
    assert status == 202
    client = api.client
    resp = await client.get("/wap/", headers={"Cookie": f"wap_csrf={CASE_NO}"})
    match = CSRF.search(await resp.text())
    assert match, "the lookup form carries a token"
    mac = base64.urlsafe_b64decode(match[1])[:8]
    forged = f"/wap/c/csrf{CASE_NO}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    resp = await client.get(forged, allow_redirects=False)
    page = await resp.text()
    assert resp.status == 404
    assert "链接无效或已过期" in page
    assert "张*" not in page and "138****5678" not in page
    # The real thing still works: a link the hub itself signs opens the page.
    _, case = await api.get(f"/v1/cases/{CASE_NO}", key=ADMIN_KEY)
    assert case["case_no"] == CASE_NO
