"""The hostile probe's odd inputs (issue 13, item 5): a 4xx naming the field, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from hub.keys import SETTINGS
from tests.conftest import SUPERVISOR_KEY, Api
from tests.integration import events as ev
from tests.integration import wap_data

CALLBACKS = [
    "/v1/callbacks/sms/aliyun/report",
    "/v1/callbacks/sms/aliyun/up",
    "/v1/callbacks/sms/tencent/status",
    "/v1/callbacks/sms/tencent/reply",
]
DEEP = b"[" * 50_000


def _token(app: web.Application) -> str:
    return app[SETTINGS].auth.callback_token.get_secret_value()


async def _push(api: Api, app: web.Application, path: str, body: bytes) -> tuple[int, str]:
    resp = await api.client.post(
        f"{path}?token={_token(app)}", data=body, headers={"Content-Type": "application/json"}
    )
    await resp.read()
    return resp.status, resp.content_type


def _fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]


@pytest.mark.parametrize("path", CALLBACKS)
async def test_deeply_nested_json_on_a_callback_is_refused(
    api: Api, app: web.Application, path: str
) -> None:
    """`[` fifty thousand times deep is a 4xx problem on every callback, not a RecursionError."""
    status, content_type = await _push(api, app, path, DEEP)
    assert 400 <= status < 500
    assert content_type == "application/problem+json"


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/events"), ("PUT", "/v1/people/p-1")])
async def test_deeply_nested_json_on_the_api_is_refused(api: Api, method: str, path: str) -> None:
    """The API refuses nesting deeper than any event has with 400, whatever the depth."""
    for body in (DEEP, b'{"a":' * 200 + b"1" + b"}" * 200):
        resp = await api.client.request(
            method, path, data=body, headers={"Authorization": "Bearer admin-key-0001"}
        )
        answer = await resp.json(content_type=None)
        assert resp.status == 400, answer
        assert "nested" in answer["detail"]


@pytest.mark.parametrize(
    ("path", "item"),
    [
        ("/v1/callbacks/sms/aliyun/report", {"biz_id": "1^0", "phone_number": "138\u00001234"}),
        (
            "/v1/callbacks/sms/aliyun/up",
            {"phone_number": "13812345678\u0000", "content": "TD", "sequence_id": 1},
        ),
        (
            "/v1/callbacks/sms/aliyun/up",
            {
                "phone_number": "13812345678",
                "content": "TD",
                "sequence_id": 2,
                "send_time": "0001-01-01 00:00:00",
            },
        ),
        ("/v1/callbacks/sms/tencent/reply", {"mobile": "13812345678", "text": "1", "time": 1e20}),
        ("/v1/callbacks/sms/tencent/reply", {"mobile": "13812345678", "text": "1", "time": -1e12}),
        (
            "/v1/callbacks/sms/tencent/status",
            {"sid": "s1", "mobile": "13812345678", "user_receive_time": "9999-12-31 23:59:59"},
        ),
    ],
)
async def test_odd_callback_fields_get_a_4xx_naming_the_field(
    api: Api, app: web.Application, database_url: str, path: str, item: dict[str, Any]
) -> None:
    """A NUL in a number or an instant far outside 2000–2100 is refused and stores nothing."""
    body = item if path.endswith("reply") else [item]
    resp = await api.client.post(f"{path}?token={_token(app)}", data=json.dumps(body).encode())
    answer = await resp.json(content_type=None)
    assert resp.status == 422, answer
    bad = next(key for key in item if key in answer["detail"])
    assert bad in ("phone_number", "send_time", "time", "user_receive_time")
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM inbound_sms") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "1999-12", "2100-01-02"])
async def test_stats_outside_the_plausible_years_is_a_422_naming_the_field(
    api: Api, value: str
) -> None:
    """`/v1/stats?to=9999-12-31` and friends: 422 naming `to` (or `from`), not an overflow."""
    for name in ("to", "from"):
        status, body = await api.get(f"/v1/stats?{name}={value}")
        assert status == 422, body
        assert name in _fields(body)


@pytest.mark.parametrize(
    "occurred_at",
    ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+08:00", "1999-12-31T23:00:00+00:00"],
)
async def test_an_instant_outside_2000_to_2100_is_refused(api: Api, occurred_at: str) -> None:
    """An event's `occurred_at` before 2000 or after 2100 is a 422 naming `occurred_at`."""
    status, body = await api.post("/v1/events", ev.accepted("ODD-1", occurred_at))
    assert status == 422, body
    assert _fields(body) == ["occurred_at"]


@pytest.mark.parametrize("occurred_at", [1772409600, 1772409600.5, "1772409600"])
async def test_an_instant_as_a_number_is_refused(api: Api, occurred_at: Any) -> None:
    """The contract asks for ISO-8601 with an offset: a Unix time is refused, naming the field."""
    status, body = await api.post(
        "/v1/events",
        ev.accepted("ODD-2", "2026-03-02T10:00:00+08:00") | {"occurred_at": occurred_at},
    )
    assert status == 422, body
    assert _fields(body) == ["occurred_at"]


@pytest.mark.parametrize(
    "case_no",
    ["A/B", "A B", "A\r\nB", "A\tB", "A\u0007B", "", "X" * 65, "A\u200bB", "A\u3000B"],
)
async def test_case_numbers_outside_the_allowed_characters_are_refused(
    api: Api, case_no: str
) -> None:
    """`case_no` is 1–64 printable characters without `/`, whitespace or controls; else 422."""
    status, body = await api.post("/v1/events", ev.accepted(case_no, "2026-03-02T10:00:00+08:00"))
    assert status == 422, body
    assert _fields(body) == ["case_no"]


async def test_usual_case_numbers_are_accepted(api: Api) -> None:
    """Numbers as approval systems write them (letters, digits, dashes, Chinese) still go in."""
    for case_no in ("SC-2026-000123", "（2026）市监许字第0012号", "A.B_C:D#1"):
        status, body = await api.post(
            "/v1/events", ev.accepted(case_no, "2026-03-02T10:00:00+08:00")
        )
        assert status == 202, body


async def test_a_case_stored_with_an_absurd_instant_still_opens(
    api: Api, app: web.Application, database_url: str
) -> None:
    """A case stored with year-1 instants (before the check existed) answers 200, not 500."""
    await api.post("/v1/events", ev.accepted("OLD-1", "2026-03-02T10:00:00+08:00"))
    await api.post("/v1/events", ev.node_started("OLD-1", "n1", "2026-03-02T11:00:00+08:00"))
    conn = await asyncpg.connect(database_url)
    try:
        # What the probe's accepted event left behind: asyncpg reads these back naive.
        await conn.execute("UPDATE events SET occurred_at = '0001-01-01T00:00:00+00:00'")
        await conn.execute(
            "UPDATE cases SET accepted_at = '0001-01-01T00:00:00+00:00',"
            " due_at = '0001-01-01T00:00:00+00:00', warn_at = '0001-01-01T00:00:00+00:00'"
        )
        await conn.execute("UPDATE nodes SET started_at = '0001-01-01T00:00:00+00:00'")
    finally:
        await conn.close()
    status, body = await api.get("/v1/cases/OLD-1")
    assert status == 200, body
    assert (body["accepted_at"], body["due_at"], body["level"]) == (None, None, None)
    resp = await api.client.get(wap_data.case_link(app, "OLD-1"))
    assert resp.status == 200, await resp.text()
    assert "OLD-1" in await resp.text()


async def _signed_in(api: Api) -> None:
    resp = await api.client.post(
        "/supervise/login", data={"key": SUPERVISOR_KEY}, allow_redirects=False
    )
    assert resp.status == 303


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
async def test_the_supervision_page_refuses_absurd_dates_with_an_html_page(
    api: Api, value: str
) -> None:
    """`/supervise/?to=9999-12-31`: a 422 HTML page (not JSON, not a 500)."""
    await _signed_in(api)
    for name in ("to", "from"):
        resp = await api.client.get(f"/supervise/?{name}={value}")
        assert resp.status == 422
        assert resp.content_type == "text/html"
        assert "2000-01-01" in await resp.text()


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1999-12", "2100-02"])
async def test_a_monthly_report_of_an_absurd_month_is_a_404_page(api: Api, month: str) -> None:
    """`/supervise/reports/0001-01` and `/9999-12`: the "YYYY-MM" page, not an overflow."""
    await _signed_in(api)
    resp = await api.client.get(f"/supervise/reports/{month}")
    assert resp.status == 404
    assert resp.content_type == "text/html"
