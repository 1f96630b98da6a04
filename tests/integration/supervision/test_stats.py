"""GET /v1/stats against figures worked out independently from a generated month of events."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web

from hub.keys import POOL, ROUTING
from hub.replies.evaluations import rate_case
from tests.conftest import ADMIN_KEY, INGEST_KEY, SUPERVISOR_KEY, Api
from tests.integration import stats_month as sm

COUNTS = (
    "accepted",
    "green_channel",
    "closed",
    "closed_of_accepted",
    "early",
    "on_time",
    "late",
    "withdrawn",
    "open",
    "open_due_soon",
    "open_overdue",
    "urges",
)


async def _rate(app: web.Application, plans: list[sm.Plan]) -> None:
    async with app[POOL].acquire() as conn:
        for plan in plans:
            if plan.rating:
                stored = await rate_case(
                    conn,
                    plan.case_no,
                    plan.rating[0],
                    comment=None,
                    source="wap",
                    now=plan.rating[1],
                    routing=app[ROUTING],
                )
                assert stored


async def _message_log(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, body = await api.get(f"/v1/messages?limit=500{cursor}", key=SUPERVISOR_KEY)
        assert status == 200
        items.extend(body["items"])
        if not body["next_cursor"]:
            return items
        cursor = f"&cursor={body['next_cursor']}"


def _expected_notices(
    log: list[dict[str, Any]], group_of: dict[str, str]
) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for message in log:
        created = datetime.fromisoformat(message["created_at"])
        if not sm.LO <= created < sm.HI:
            continue
        key = "" if group_of is None else group_of.get(message["case_no"] or "")
        counts = out.setdefault(key, Counter())
        counts["notices"] += 1
        counts["notices_sent"] += message["status"] in ("sent", "delivered")
        counts["notices_delivered"] += message["status"] == "delivered"
        counts["notices_failed"] += message["status"] in ("failed", "dead")
    return out


def _check(row: dict[str, Any], want: Counter[str], notices: Counter[str]) -> None:
    got = {name: row[name] for name in COUNTS}
    assert got == {name: want[name] for name in COUNTS}
    for name in ("notices", "notices_sent", "notices_delivered", "notices_failed"):
        assert row[name] == notices[name], name
    ratings = {str(r): want[f"rating_{r}"] for r in range(1, 6)}
    assert row["satisfaction_distribution"] == ratings
    count = sum(ratings.values())
    assert row["satisfaction_count"] == count
    assert row["satisfaction"] == (round(want["rating_sum"] / count, 2) if count else None)
    judged = want["early"] + want["on_time"] + want["late"]
    assert row["on_time_rate"] == (
        round((want["early"] + want["on_time"]) / judged, 4) if judged else None
    )
    assert row["early_rate"] == (round(want["early"] / judged, 4) if judged else None)
    assert row["closed_rate"] == (
        round(want["closed_of_accepted"] / want["accepted"], 4) if want["accepted"] else None
    )
    # Every rating of 1 or 2 opened a rectification; none was verified or closed yet.
    poor = want["rating_1"] + want["rating_2"]
    assert (row["poor_ratings"], row["rectified"]) == (poor, 0)
    assert row["verified_on_time_rate"] == (0.0 if poor else None)
    assert row["rectified_on_time_rate"] is None


async def test_stats_for_a_generated_month_equal_the_figures_worked_out_from_the_events(
    api: Api, app: web.Application
) -> None:
    """A month of 320 cases (suspended, extended, green-channel, early, late, open) adds up."""
    plans = sm.generate(320)
    kinds = Counter(p.verdict() for p in plans if p.completed_at and not p.withdrawn_only)
    assert min(kinds["early"], kinds["on_time"], kinds["late"]) >= 20, kinds
    assert sum(1 for p in plans if p.suspensions) >= 30
    assert sum(1 for p in plans if p.extension) >= 20
    assert sum(1 for p in plans if p.green) >= 20
    assert sum(1 for p in plans if p.completed_at is None) >= 30
    loaded = await sm.load_month(api, plans)
    await _rate(app, plans)
    log = await _message_log(api)

    for group_by, attr in (("department", "department"), ("matter", "matter")):
        status, body = await api.get(
            f"/v1/stats?from=2026-03-01&to=2026-03-31&group_by={group_by}", key=SUPERVISOR_KEY
        )
        assert status == 200, body
        want = sm.expected_figures(plans, loaded.urges, key=attr)
        group_of = {p.case_no: p.department if attr == "department" else p.matter[0] for p in plans}
        notices = _expected_notices(log, group_of)
        rows = {item["key"]: item for item in body["items"]}
        assert set(rows) == set(want) | set(notices)
        for key, row in rows.items():
            _check(row, want.get(key, Counter()), notices.get(key, Counter()))

    status, body = await api.get("/v1/stats?from=2026-03&to=2026-03&group_by=month")
    assert status == 200
    total = sm.expected_figures(plans, loaded.urges, key="")[""]
    all_notices = _expected_notices(log, None)[""]
    assert all_notices["notices_sent"] > 100 and total["urges"] > 10 and total["rating_sum"] > 0
    _check(body["total"], total, all_notices)
    assert [item["key"] for item in body["items"]] == ["2026-03"]
    _check(body["items"][0], total, all_notices)
    assert body["as_of"] == "2026-04-01T00:00:00+08:00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("group_by=week", "group_by"),
        ("from=2026-03-10&to=2026-03-01", "to"),
        ("from=2020-01-01&to=2026-03-01", "to"),
    ],
)
async def test_stats_refuse_bad_parameters_naming_the_field(
    api: Api, query: str, field: str
) -> None:
    """A bad from/to/group_by is a 422 problem naming the field."""
    resp = await api.client.get(
        f"/v1/stats?{query}", headers={"Authorization": f"Bearer {SUPERVISOR_KEY}"}
    )
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    body = await resp.json(content_type=None)
    assert field in [e["field"] for e in body["errors"]]


async def test_stats_are_for_admin_and_supervisor_keys_only(api: Api) -> None:
    """Admin and supervisor keys read the figures; an ingest key gets 403, no key 401."""
    for key, want in ((ADMIN_KEY, 200), (SUPERVISOR_KEY, 200), (INGEST_KEY, 403), (None, 401)):
        status, body = await api.get("/v1/stats", key=key)
        assert status == want, (key, body)
    status, body = await api.get("/v1/stats", key=SUPERVISOR_KEY)
    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-02"
    assert body["total"]["accepted"] == 0 and body["total"]["on_time_rate"] is None
