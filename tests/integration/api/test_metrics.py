"""``GET /metrics``: Prometheus text that counts what happened, by label."""

from __future__ import annotations

from datetime import datetime

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Api
from tests.integration import events as ev

TEN = "2026-03-02T10:00:00+08:00"


async def _samples(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    resp = await api.client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_every_request_is_counted_by_its_route_pattern(api: Api) -> None:
    """50 requests show as 50, under the route's pattern, not the raw path."""
    for n in range(25):
        assert (await api.get(f"/v1/cases/NONE-{n}"))[0] == 404
        assert (await api.get("/healthz", key=None))[0] == 200
    samples = await _samples(api)
    case = frozenset({"route": "/v1/cases/{case_no}", "method": "GET", "status": "404"}.items())
    health = frozenset({"route": "/healthz", "method": "GET", "status": "200"}.items())
    assert samples[("cuiban_http_requests_total", case)] == 25
    assert samples[("cuiban_http_requests_total", health)] == 25
    assert not any("NONE-" in str(labels) for _, labels in samples)


async def test_a_path_no_route_matches_is_counted_as_unmatched(api: Api) -> None:
    """Random paths do not grow the label set: they all count as one route."""
    for n in range(3):
        assert (await api.get(f"/no/such/{n}", key=None))[0] == 404
    samples = await _samples(api)
    unmatched = frozenset({"route": "unmatched", "method": "GET", "status": "404"}.items())
    assert samples[("cuiban_http_requests_total", unmatched)] == 3


async def test_a_sent_notice_is_counted_with_its_lateness(api: Api) -> None:
    """The 受理 SMS counts as sent by channel, provider and kind, and its lateness is observed."""
    await api.post("/v1/test-clock/advance", {"to": TEN})
    status, _ = await api.post("/v1/events", ev.accepted("M-1", TEN))
    assert status in (200, 202)
    later = datetime.fromisoformat(TEN).replace(minute=5).isoformat()
    await api.post("/v1/test-clock/advance", {"to": later})
    samples = await _samples(api)
    sms = {"channel": "sms", "provider": "console", "kind": "case_accepted"}
    assert samples[("cuiban_notices_sent_total", frozenset(sms.items()))] == 1
    outcome = frozenset((sms | {"status": "sent"}).items())
    assert samples[("cuiban_notices_total", outcome)] == 1
    late = frozenset({"channel": "sms", "kind": "case_accepted"}.items())
    assert samples[("cuiban_send_lateness_seconds_count", late)] == 1
    # The test clock stops at 10:00, the instant it may leave: sent on time, 0 s late.
    assert samples[("cuiban_send_lateness_seconds_sum", late)] == 0
    on_time = frozenset(({"le": "0.1"} | dict(late)).items())
    assert samples[("cuiban_send_lateness_seconds_bucket", on_time)] == 1
    sent = frozenset({"channel": "sms", "provider": "console"}.items())
    assert samples[("cuiban_send_seconds_count", sent)] == 1
    # The older names keep working for dashboards that use them.
    assert ("cuiban_events_accepted_total", frozenset()) in samples
