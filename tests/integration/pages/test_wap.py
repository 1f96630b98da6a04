"""The WAP pages over HTTP: headers, lookups and lockouts, CSRF, escaping, forms, no secrets."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse, web
from structlog.testing import capture_logs

from hub.clock import ManualClock
from hub.privacy.fields import EVALUATIONS_COMMENT, mobile_index
from tests.conftest import TEST_VAULT, Api, opened_rows
from tests.integration import wap_data as data
from tests.integration.wap_data import (
    CLOSED_CASE,
    CLOSED_CODE,
    ID_NUMBER,
    MOBILE,
    OPEN_CASE,
    OTHER_MOBILE,
    QUERY_CODE,
    RED_CASE,
    csrf_of,
)


class Wap:
    """A browser-like client: keeps cookies, reads the CSRF token off the last page."""

    def __init__(self, api: Api) -> None:
        self.client = api.client
        self.csrf = ""
        self.pages: list[str] = []

    async def get(self, path: str) -> tuple[int, str, ClientResponse]:
        resp = await self.client.get(path, allow_redirects=False)
        text = await resp.text()
        self.pages.append(text)
        if 'name="csrf"' in text:
            self.csrf = csrf_of(text)
        return resp.status, text, resp

    async def post(
        self, path: str, form: dict[str, str], *, csrf: bool = True
    ) -> tuple[int, str, ClientResponse]:
        if csrf and not self.csrf:
            await self.get("/wap/")
        body = {"csrf": self.csrf, **form} if csrf else form
        resp = await self.client.post(path, data=body, allow_redirects=False)
        text = await resp.text()
        self.pages.append(text)
        if 'name="csrf"' in text:
            self.csrf = csrf_of(text)
        return resp.status, text, resp

    async def lookup(self, case_no: str, code: str) -> tuple[int, str, ClientResponse]:
        return await self.post("/wap/lookup", {"case_no": case_no, "query_code": code})


@pytest.fixture
async def wap(api: Api) -> Wap:
    await data.seed(api)
    return Wap(api)


async def fetch(database_url: str, sql: str, *args: Any) -> list[Any]:
    """Rows as the hub reads them (a message's sealed fields opened)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(sql, *args)
        return opened_rows(rows) if "FROM messages" in sql else list(rows)
    finally:
        await conn.close()


def assert_secure_headers(resp: ClientResponse) -> None:
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


async def test_every_wap_response_carries_the_security_headers(
    wap: Wap, app: web.Application
) -> None:
    """Pages, error pages and redirects carry CSP, no-referrer, nosniff, no framing; no-store."""
    for path in ["/wap/", data.case_link(app, OPEN_CASE), "/wap/no-such-page", "/wap/c/forged.x"]:
        status, text, resp = await wap.get(path)
        assert resp.content_type == "text/html"
        assert_secure_headers(resp)
        assert resp.headers["Cache-Control"] == "no-store"
        assert "<script" not in text
        assert status in (200, 404)
    _, _, redirect = await wap.lookup(OPEN_CASE, QUERY_CODE)
    assert redirect.status == 303
    assert_secure_headers(redirect)
    status, css, resp = await wap.get(re.search(r'href="(/wap/static/[^"]+)"', wap.pages[0])[1])
    assert status == 200 and resp.content_type == "text/css" and "body" in css
    assert resp.headers["Cache-Control"].startswith("public")
    assert_secure_headers(resp)


async def test_the_right_code_opens_the_case_page_with_masked_details(wap: Wap) -> None:
    """Case number and query code open the case: masked name and mobile, level words, timeline."""
    status, _, resp = await wap.lookup(OPEN_CASE, QUERY_CODE)
    assert status == 303
    location = resp.headers["Location"]
    assert location.startswith("/wap/c/") and QUERY_CODE not in location
    status, page, _ = await wap.get(location)
    assert status == 200
    assert "食品经营许可" in page and "市场监督管理局" in page
    assert "张*" in page and "张**" not in page and "138****5678" in page
    assert MOBILE not in page and QUERY_CODE not in page and ID_NUMBER not in page
    assert "专家评审" in page  # the suspension reason, in words
    assert "审查（市场监督管理局）" in page  # the current node
    assert "已受理，办理时限20个工作日" in page and "短信受理通知" in page
    assert re.search(r'class="lv lv-(green|yellow|red)">(正常|黄牌预警|红牌超期)<', page)


async def test_an_unknown_case_and_a_wrong_code_get_the_same_answer(wap: Wap) -> None:
    """A wrong code for a real case and any code for an unknown case answer alike, byte for byte."""
    wrong = await wap.lookup(OPEN_CASE, "000000")
    unknown = await wap.lookup("WAP-404", "000000")
    assert wrong[0] == unknown[0] == 422
    # Alike but for the 受理号 each one typed, which the form keeps for the next try.
    assert f'id="case_no" name="case_no" maxlength="64" value="{OPEN_CASE}"' in wrong[1]
    assert wrong[1].replace(OPEN_CASE, "WAP-404") == unknown[1]
    assert "受理号或查询码不正确" in wrong[1]


async def test_five_wrong_codes_lock_the_case_until_the_lockout_ends(
    wap: Wap, clock: ManualClock
) -> None:
    """After 5 wrong codes even the right one is refused for 30 minutes, known case or not."""
    for _ in range(5):
        assert (await wap.lookup(OPEN_CASE, "111111"))[0] == 422
        assert (await wap.lookup("WAP-404", "111111"))[0] == 422
    locked = await wap.lookup(OPEN_CASE, QUERY_CODE)
    locked_unknown = await wap.lookup("WAP-404", "111111")
    assert locked[0] == locked_unknown[0] == 429
    assert locked[1].replace(OPEN_CASE, "WAP-404") == locked_unknown[1]
    assert "次数过多" in locked[1]
    clock.advance_by(timedelta(minutes=29))
    assert (await wap.lookup(OPEN_CASE, QUERY_CODE))[0] == 429
    clock.advance_by(timedelta(minutes=2))
    assert (await wap.lookup(OPEN_CASE, QUERY_CODE))[0] == 303
    # The right code clears the case's failures: five more are allowed again.
    for _ in range(4):
        assert (await wap.lookup(OPEN_CASE, "111111"))[0] == 422
    assert (await wap.lookup(OPEN_CASE, QUERY_CODE))[0] == 303


async def test_one_client_is_locked_out_across_many_case_numbers(wap: Wap) -> None:
    """Twenty wrong codes on different case numbers lock the client address out of every case."""
    for n in range(20):
        assert (await wap.lookup(f"GUESS-{n}", "123456"))[0] == 422
    assert (await wap.lookup(OPEN_CASE, QUERY_CODE))[0] == 429


async def test_posts_without_a_matching_csrf_token_are_refused(
    wap: Wap, app: web.Application, database_url: str
) -> None:
    """A post with no token, or another browser's token, gets 403 and changes nothing."""
    status, page, resp = await wap.post(
        "/wap/lookup", {"case_no": OPEN_CASE, "query_code": QUERY_CODE}, csrf=False
    )
    assert status == 403 and resp.content_type == "text/html" and "页面已过期" in page
    assert_secure_headers(resp)
    await wap.get("/wap/")
    wap.client.session.cookie_jar.clear()  # a token that belonged to a cookie we no longer hold
    await wap.client.get("/wap/")  # a fresh cookie, but the old token
    case = data.case_link(app, CLOSED_CASE)
    assert (await wap.post(f"{case}/rate", {"rating": "1"}))[0] == 403
    assert (await wap.post(f"{case}/complaint", {"content": "x"}))[0] == 403
    inbox = data.inbox_link(app, "p-li")
    assert (await wap.post(f"{inbox}/read", {"id": "all"}))[0] == 403
    assert (await wap.post("/wap/code", {"mobile": MOBILE}))[0] == 403
    assert await fetch(database_url, "SELECT * FROM evaluations") == []
    assert await fetch(database_url, "SELECT * FROM wap_complaints") == []
    assert await fetch(database_url, "SELECT * FROM wap_codes") == []
    assert await fetch(database_url, "SELECT * FROM wap_limits") == []


async def test_markup_in_names_reasons_and_comments_is_shown_as_text(
    api: Api, app: web.Application
) -> None:
    """Names, matters, node names, reasons, comments and complaints holding markup are escaped."""
    await data.seed(
        api,
        name="<script>alert(1)</script>",
        matter="<b>许可</b>",
        reason="<img src=x onerror=alert(2)>",
        node_name="<i>审查</i>",
    )
    wap = Wap(api)
    _, page, _ = await wap.get(data.case_link(app, OPEN_CASE))
    assert "&lt;b&gt;许可&lt;/b&gt;" in page and "<b>" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page and "<img" not in page
    assert "&lt;i&gt;审查&lt;/i&gt;" in page and "<i>" not in page
    assert "<script" not in page and "&lt;*" in page  # the name masked to its first character
    closed = data.case_link(app, CLOSED_CASE)
    await wap.get(closed)
    await wap.post(f"{closed}/rate", {"rating": "2", "comment": "<script>alert(3)</script>"})
    await wap.post(f"{closed}/complaint", {"content": '"><script>alert(4)</script>'})
    _, page, _ = await wap.get(closed)
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page and "<script" not in page
    _, inbox, _ = await wap.get(data.inbox_link(app, "p-sup"))
    assert "&#34;&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in inbox
    assert "<script" not in inbox


async def test_a_signed_link_expires_and_a_tampered_one_is_refused(
    wap: Wap, app: web.Application, clock: ManualClock
) -> None:
    """A case link works for its lifetime; a changed character or an old link gets the 404 page."""
    link = data.case_link(app, OPEN_CASE)
    assert (await wap.get(link))[0] == 200
    token = link.removeprefix("/wap/c/")
    body, mac = token.split(".")
    tampered = f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    status, page, _ = await wap.get(f"/wap/c/{tampered}")
    assert status == 404 and "链接无效或已过期" in page
    inbox_token = data.inbox_link(app, "p-li").removeprefix("/wap/inbox/")
    assert (await wap.get(f"/wap/c/{inbox_token}"))[0] == 404  # an inbox token is no case token
    clock.advance_by(timedelta(days=92))
    status, page, _ = await wap.get(link)
    assert status == 404 and "链接无效或已过期" in page


async def test_a_closed_case_is_rated_once_on_the_page(
    wap: Wap, app: web.Application, database_url: str
) -> None:
    """The rating form shows after closing, takes one rating, and refuses a second."""
    _, open_page, _ = await wap.get(data.case_link(app, OPEN_CASE))
    assert 'name="rating"' not in open_page
    closed = data.case_link(app, CLOSED_CASE)
    _, page, _ = await wap.get(closed)
    for words in ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]:
        assert words in page
    assert "市民中心B区3号窗口" not in page  # picked up: no pickup details any more
    status, _, resp = await wap.post(f"{closed}/rate", {"rating": "4", "comment": "很快"})
    assert status == 303 and resp.headers["Location"].endswith("?m=rated")
    _, page, _ = await wap.get(resp.headers["Location"])
    assert "感谢您的评价" in page and "您的评价：满意" in page and 'name="rating"' not in page
    status, _, resp = await wap.post(f"{closed}/rate", {"rating": "1"})
    assert resp.headers["Location"].endswith("?m=already")
    rows = await fetch(database_url, "SELECT rating, comment, source FROM evaluations")
    assert [(r["rating"], r["source"]) for r in rows] == [(4, "wap")]
    assert "很快" not in rows[0]["comment"]  # stored sealed
    assert TEST_VAULT.open(rows[0]["comment"], field=EVALUATIONS_COMMENT) == "很快"
    assert (await wap.post(f"{closed}/rate", {"rating": "9"}))[0] == 422
    opened = data.case_link(app, OPEN_CASE)
    assert (await wap.post(f"{opened}/rate", {"rating": "5"}))[0] == 409


async def test_a_complaint_reaches_the_supervisors_as_a_notice(
    wap: Wap, app: web.Application, database_url: str
) -> None:
    """A complaint on a closed case is stored and becomes a complaint notice to each supervisor."""
    closed = data.case_link(app, CLOSED_CASE)
    await wap.get(closed)
    status, _, resp = await wap.post(f"{closed}/complaint", {"content": "窗口要求重复提交材料"})
    assert status == 303 and resp.headers["Location"].endswith("?m=complained")
    rows = await fetch(
        database_url,
        "SELECT person_id, channel, case_no, body, sealed FROM messages WHERE kind = 'complaint'",
    )
    assert [(r["person_id"], r["channel"], r["case_no"]) for r in rows] == [
        ("p-sup", "wap", CLOSED_CASE)
    ]
    assert "窗口要求重复提交材料" in rows[0]["body"]
    _, inbox, _ = await wap.get(data.inbox_link(app, "p-sup"))
    assert "投诉：WAP-2" in inbox and "窗口要求重复提交材料" in inbox
    for _ in range(2):
        await wap.post(f"{closed}/complaint", {"content": "再次投诉"})
    assert (await wap.post(f"{closed}/complaint", {"content": "第四次"}))[0] == 429
    opened = data.case_link(app, OPEN_CASE)
    assert (await wap.post(f"{opened}/complaint", {"content": "办理中"}))[0] == 409


async def test_the_inbox_sorts_open_nodes_by_urgency_and_marks_notices_read(
    wap: Wap, api: Api, app: web.Application, database_url: str
) -> None:
    """A reviewer sees red before the rest with due dates, their notices, and can mark them read."""
    for case_no in (RED_CASE, OPEN_CASE):
        status, _ = await api.post(f"/v1/cases/{case_no}/urge", {"by": "p-head", "note": "请加快"})
        assert status in (200, 201, 202)
    inbox = data.inbox_link(app, "p-li")
    _, page, _ = await wap.get(inbox)
    assert page.index("现场核查") < page.index("审查")  # red r1 before the suspended n1
    assert "红牌超期" in page and "到期 2026-02-26" in page and "（中止中）" in page
    assert "未读 2" in page
    ids = [
        r["id"]
        for r in await fetch(
            database_url, "SELECT id FROM messages WHERE person_id = 'p-li' ORDER BY id"
        )
    ]
    assert len(ids) == 2
    status, _, resp = await wap.post(f"{inbox}/read", {"id": str(ids[0])})
    assert status == 303
    _, page, _ = await wap.get(resp.headers["Location"].split("#")[0])
    assert "未读 1" in page
    # Another reviewer's token cannot mark p-li's notice.
    other = data.inbox_link(app, "p-sup")
    await wap.post(f"{other}/read", {"id": str(ids[1])})
    assert (await fetch(database_url, "SELECT read_at FROM messages WHERE id = $1", ids[1]))[0][
        "read_at"
    ] is None
    await wap.post(f"{inbox}/read", {"id": "all"})
    rows = await fetch(database_url, "SELECT read_at FROM messages WHERE person_id = 'p-li'")
    assert all(r["read_at"] == data.app_clock(app).now() for r in rows)
    assert (await wap.post(f"{inbox}/read", {"id": "x"}))[0] == 400


async def sms_code(database_url: str, mobile: str = MOBILE) -> str:
    rows = await fetch(
        database_url,
        "SELECT context, personal, sealed FROM messages"
        " WHERE kind = 'verification_code' AND recipient_index = $1 ORDER BY id DESC LIMIT 1",
        mobile_index(TEST_VAULT, mobile),
    )
    return str(rows[0]["context"]["code"])


async def test_an_sms_code_lists_the_numbers_cases(
    wap: Wap, app: web.Application, database_url: str
) -> None:
    """Mobile + SMS code: the code goes out by SMS, the page lists only that number's cases."""
    status, page, _ = await wap.post("/wap/code", {"mobile": "+86 138-1234-5678"})
    assert status == 200 and "138****5678" in page and MOBILE not in page
    login = re.search(r'name="login" value="([^"]+)"', page)[1]
    code = await sms_code(database_url)
    assert re.fullmatch(r"\d{6}", code) and code not in page
    rows = await fetch(
        database_url, "SELECT channel, body, sealed FROM messages WHERE kind = 'verification_code'"
    )
    assert [r["channel"] for r in rows] == ["sms"] and code in rows[0]["body"]
    status, _, resp = await wap.post("/wap/verify", {"login": login, "code": code})
    assert status == 303 and resp.headers["Location"] == "/wap/mine"
    status, mine, _ = await wap.get("/wap/mine")
    assert status == 200 and OPEN_CASE in mine and CLOSED_CASE in mine and RED_CASE not in mine
    # The code and the session hold the number sealed, never in clear (issue 19).
    for table in ("wap_codes", "wap_sessions"):
        stored = await fetch(database_url, f"SELECT mobile FROM {table}")  # noqa: S608
        assert stored and all(r["mobile"].startswith("sm4:") for r in stored)
        assert all(MOBILE not in r["mobile"] for r in stored)
    link = re.search(r'href="(/wap/c/[^"]+)"', mine)[1]
    assert (await wap.get(link))[0] == 200
    # A code works once.
    assert (await wap.post("/wap/verify", {"login": login, "code": code}))[0] == 422
    await wap.post("/wap/logout", {})
    assert (await wap.get("/wap/mine"))[0] == 401


async def test_sms_codes_are_limited_per_number_per_minute_hour_and_day(
    wap: Wap, clock: ManualClock, database_url: str
) -> None:
    """A number gets at most 1 code a minute, 5 an hour and 10 a day."""

    async def ask() -> tuple[int, str]:
        status, page, _ = await wap.post("/wap/code", {"mobile": MOBILE})
        return status, page

    assert (await ask())[0] == 200
    clock.advance_by(timedelta(seconds=30))
    status, page = await ask()
    assert status == 429 and "每分钟只能获取1次" in page
    for _ in range(4):
        clock.advance_by(timedelta(seconds=61))
        assert (await ask())[0] == 200
    clock.advance_by(timedelta(seconds=61))
    status, page = await ask()
    assert status == 429 and "1小时内" in page
    clock.advance_by(timedelta(hours=1))
    for _ in range(5):
        assert (await ask())[0] == 200
        clock.advance_by(timedelta(seconds=61))
    clock.advance_by(timedelta(hours=1))
    status, page = await ask()
    assert status == 429 and "24小时内" in page
    clock.advance_by(timedelta(hours=22))
    assert (await ask())[0] == 200
    sent = await fetch(
        database_url, "SELECT count(*) AS n FROM messages WHERE kind = 'verification_code'"
    )
    assert sent[0]["n"] == 11


async def test_a_code_expires_after_five_minutes_and_dies_after_five_wrong_tries(
    wap: Wap, clock: ManualClock, database_url: str
) -> None:
    """A code is refused after 5 minutes, and after 5 wrong tries even the right code fails."""
    _, page, _ = await wap.post("/wap/code", {"mobile": MOBILE})
    login = re.search(r'name="login" value="([^"]+)"', page)[1]
    code = await sms_code(database_url)
    clock.advance_by(timedelta(minutes=5))
    status, page, _ = await wap.post("/wap/verify", {"login": login, "code": code})
    assert status == 422 and "验证码已失效" in page
    clock.advance_by(timedelta(minutes=1))
    _, page, _ = await wap.post("/wap/code", {"mobile": MOBILE})
    login = re.search(r'name="login" value="([^"]+)"', page)[1]
    code = await sms_code(database_url)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        status, page, _ = await wap.post("/wap/verify", {"login": login, "code": wrong})
        assert status == 422 and "验证码不正确" in page
    status, page, _ = await wap.post("/wap/verify", {"login": login, "code": wrong})
    assert "验证码已失效" in page
    status, page, _ = await wap.post("/wap/verify", {"login": login, "code": code})
    assert status == 422 and "验证码已失效" in page


async def test_a_number_without_cases_gets_the_same_page_and_no_sms(
    wap: Wap, database_url: str
) -> None:
    """Asking a code for a number with no cases answers alike but sends nothing."""
    status, page, _ = await wap.post("/wap/code", {"mobile": "13611112222"})
    assert status == 200 and "136****2222" in page
    rows = await fetch(database_url, "SELECT * FROM messages WHERE kind = 'verification_code'")
    assert rows == []
    assert (await wap.post("/wap/code", {"mobile": "12345"}))[0] == 422


async def test_known_and_unknown_numbers_do_the_same_work(wap: Wap, database_url: str) -> None:
    """Both store a rendered SMS; an unknown number's is rolled back (the id is still used).

    The probe timed /wap/code: known numbers answered 4.8 ms against 3.5 ms for
    unknown ones and 68% of guesses were right. Sequences ignore rollbacks, so the
    id an unknown number's SMS took shows the insert ran there too.
    """
    last_id = "SELECT last_value, is_called FROM messages_id_seq"
    before = (await fetch(database_url, last_id))[0]
    assert (await wap.post("/wap/code", {"mobile": data.MOBILE}))[0] == 200
    after_known = (await fetch(database_url, last_id))[0]
    assert (await wap.post("/wap/code", {"mobile": "13611112222"}))[0] == 200
    after_unknown = (await fetch(database_url, last_id))[0]
    assert after_known["last_value"] == before["last_value"] + 1
    assert after_unknown["last_value"] == after_known["last_value"] + 1
    sms = await fetch(
        database_url, "SELECT recipient, sealed FROM messages WHERE kind = 'verification_code'"
    )
    assert [r["recipient"] for r in sms] == [data.MOBILE]


async def test_no_full_mobile_id_number_or_code_in_pages_or_logs(
    wap: Wap, app: web.Application, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No page or log line of any flow holds a full mobile, ID number, query code or SMS code."""
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        await wap.lookup(OPEN_CASE, "999999")
        _, _, resp = await wap.lookup(OPEN_CASE, QUERY_CODE)
        await wap.get(resp.headers["Location"])
        _, _, resp = await wap.lookup(CLOSED_CASE, CLOSED_CODE)
        closed = resp.headers["Location"]
        await wap.get(closed)
        await wap.post(f"{closed}/rate", {"rating": "5", "comment": f"我的电话{MOBILE}"})
        await wap.post(f"{closed}/complaint", {"content": f"请回电{MOBILE}"})
        await wap.get(closed)
        _, page, _ = await wap.post("/wap/code", {"mobile": MOBILE})
        login = re.search(r'name="login" value="([^"]+)"', page)[1]
        code = await sms_code(database_url)
        await wap.post("/wap/verify", {"login": login, "code": "000001"})
        await wap.post("/wap/verify", {"login": login, "code": code})
        await wap.get("/wap/mine")
        for person_id in ("p-li", "p-sup", "p-head"):
            await wap.get(data.inbox_link(app, person_id))
    assert logs, "the flow logged nothing: the scan proves nothing"
    logged = repr(logs) + caplog.text
    secrets = [MOBILE, OTHER_MOBILE, ID_NUMBER, QUERY_CODE, CLOSED_CODE, code, "13900001111"]
    for page in wap.pages:
        for secret in secrets:
            assert secret not in page, secret
    for secret in secrets:
        assert secret not in logged, secret
    assert any("138****5678" in page for page in wap.pages)


async def test_inbox_items_link_to_their_case_and_texts_drop_the_inbox_link(
    wap: Wap, api: Api, app: web.Application
) -> None:
    """Each open node and notice opens its case; an SMS text does not repeat the inbox URL."""
    status, _ = await api.post(f"/v1/cases/{RED_CASE}/urge", {"by": "p-head", "note": "请加快"})
    assert status == 202
    _, page, _ = await wap.get(data.inbox_link(app, "p-li"))
    links = re.findall(r'<a href="(/wap/c/[^"]+)">(?:查看办件 )?([^<]+)</a>', page)
    assert {case_no for _, case_no in links} >= {RED_CASE, OPEN_CASE}
    for link, case_no in links:
        status, case_page, _ = await wap.get(link)
        assert status == 200 and case_no in case_page
    assert "催办" in page
    assert "/wap/inbox/" not in page.split('id="notices"')[1].replace('action="/wap/inbox/', "")


async def test_large_text_is_a_link_and_a_cookie_and_returns_to_the_page(
    wap: Wap, app: web.Application
) -> None:
    """大字版 sets a cookie, comes back to the same page, and every page then says class="large"."""
    case = data.case_link(app, OPEN_CASE)
    _, page, _ = await wap.get(case)
    match = re.search(r'<a class="size" href="([^"]+)">大字版</a>', page)
    assert match and 'class="large"' not in page
    status, _, resp = await wap.get(match[1].replace("&amp;", "&"))
    assert status == 303 and resp.headers["Location"] == case
    assert "SameSite=Lax" in resp.headers["Set-Cookie"]
    for path in (case, "/wap/", data.inbox_link(app, "p-li")):
        _, page, _ = await wap.get(path)
        assert '<html lang="zh-CN" class="large">' in page and "标准字" in page
    status, _, resp = await wap.get("/wap/text?size=normal&next=https://evil.example/")
    assert status == 303 and resp.headers["Location"] == "/wap/"  # no open redirect
    _, page, _ = await wap.get("/wap/")
    assert 'class="large"' not in page
