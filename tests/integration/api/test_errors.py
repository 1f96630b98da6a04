"""Bad input of every kind gets a 4xx problem+json naming what is wrong; nothing is stored."""

from __future__ import annotations

import asyncio
import io
import time

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import Settings
from tests.conftest import ADMIN_KEY, INGEST_KEY, START, SUPERVISOR_KEY, Api
from tests.integration import events as ev

MON = "2026-03-02T10:00:00+08:00"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def _raw(api: Api, method: str, path: str, data: bytes) -> tuple[int, str, dict]:
    resp = await api.client.request(method, path, data=io.BytesIO(data), headers=AUTH)
    return resp.status, resp.content_type, await resp.json(content_type=None)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"{not json", 400),
        (b"\xff\xfe\x00", 400),
        (b"[1, 2, 3]", 422),
        (b'"a string"', 422),
        (b"null", 422),
        (b"{}", 422),
        (b'{"events": "nope"}', 422),
        (b'{"events": []}', 422),
        (b'{"events": [1]}', 422),
        (b"[" * 100_000 + b"]" * 100_000, 400),
    ],
)
async def test_garbage_bodies_get_4xx_problems(api: Api, data: bytes, status: int) -> None:
    """Unreadable or mis-shaped bodies get 400/422 problem+json, never a 5xx."""
    got, content_type, body = await _raw(api, "POST", "/v1/events", data)
    assert got == status
    assert content_type == "application/problem+json"
    assert body["status"] == status and body["detail"]


async def test_missing_and_mistyped_fields_are_each_named(api: Api) -> None:
    """Each bad field is listed with its path, and nothing of the batch is stored."""
    good = ev.accepted("E-1", MON)
    bad = ev.accepted("E-2", MON)
    del bad["applicant"]
    bad["limit"] = {"value": "twenty", "unit": "fortnights"}
    bad["occurred_at"] = "2026-03-02T10:00:00"  # no offset
    status, body = await api.post("/v1/events", {"events": [good, bad]})
    assert status == 422
    fields = {e["field"] for e in body["errors"]}
    assert {
        "events.1.applicant",
        "events.1.limit.value",
        "events.1.limit.unit",
        "events.1.occurred_at",
    } <= fields
    assert (await api.get("/v1/cases/E-1"))[0] == 404


async def test_unknown_event_type_names_the_type_field(api: Api) -> None:
    """An unknown type is a 422 on 'type' listing the known ones."""
    status, body = await api.post(
        "/v1/events", {**ev.accepted("E-3", MON), "type": "case.teleported"}
    )
    assert status == 422
    assert body["errors"][0]["field"] == "type"
    assert "case.accepted" in body["errors"][0]["message"]


async def test_bad_mobile_is_refused(api: Api) -> None:
    """An applicant mobile that is not a mainland number is refused by name."""
    event = ev.accepted("E-4", MON, applicant={"name": "王五", "mobile": "12345"})
    status, body = await api.post("/v1/events", event)
    assert status == 422
    assert body["errors"][0]["field"] == "applicant.mobile"


async def test_batches_over_1000_are_refused(api: Api) -> None:
    """More than 1000 events in one request is a 422 naming 'events'."""
    batch = [ev.accepted(f"E-{i}", MON) for i in range(1001)]
    status, body = await api.post("/v1/events", {"events": batch})
    # 1001 events of ~400 bytes stay under 1 MiB, so this is the count check speaking.
    assert status == 422
    assert body["errors"][0]["field"] == "events"


async def test_bodies_over_one_mebibyte_get_413(api: Api) -> None:
    """A body over 1 MiB is refused with 413 before it is parsed."""
    status, content_type, _ = await _raw(
        api, "POST", "/v1/events", b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    )
    assert status == 413
    assert content_type == "application/problem+json"


async def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    """404 and 405 are problem+json too."""
    status, content_type, _ = await _raw(api, "GET", "/v1/nothing-here", b"")
    assert (status, content_type) == (404, "application/problem+json")
    status, content_type, _ = await _raw(api, "DELETE", "/v1/events", b"")
    assert (status, content_type) == (405, "application/problem+json")


async def test_missing_case_is_404(api: Api) -> None:
    """Asking for a case Cuiban has never heard of is a 404 problem."""
    status, body = await api.get("/v1/cases/NOPE")
    assert status == 404 and "NOPE" in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/events", {"events": []}),
        ("GET", "/v1/cases/X", None),
        ("GET", "/v1/cases", None),
        ("PUT", "/v1/people/p1", {"name": "x"}),
        ("PUT", "/v1/departments/D1", {"name": "x"}),
    ],
)
@pytest.mark.parametrize("key", [None, "wrong-key-123", "Bearer"])
async def test_every_v1_route_needs_a_valid_key(
    api: Api, method: str, path: str, body: object, key: str | None
) -> None:
    """Without a key or with a wrong one every /v1 route answers 401."""
    headers = (
        {} if key is None else {"Authorization": f"Bearer {key}" if key != "Bearer" else "Bearer"}
    )
    resp = await api.client.request(method, path, json=body, headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_roles_limit_what_a_key_may_do(api: Api) -> None:
    """An ingest key may only post events; a supervisor key may read, not post or change people."""
    assert (await api.post("/v1/events", ev.accepted("R-1", MON), key=INGEST_KEY))[0] == 202
    assert (await api.get("/v1/cases/R-1", key=INGEST_KEY))[0] == 403
    assert (await api.put("/v1/people/p1", {"name": "x"}, key=INGEST_KEY))[0] == 403

    assert (await api.post("/v1/events", ev.accepted("R-2", MON), key=SUPERVISOR_KEY))[0] == 403
    assert (await api.put("/v1/departments/D", {"name": "x"}, key=SUPERVISOR_KEY))[0] == 403
    status, case = await api.get("/v1/cases/R-1", key=SUPERVISOR_KEY)
    assert status == 200
    assert "query_code" not in case  # only admin keys see the applicant's query code
    assert (await api.get("/v1/cases/R-2", key=ADMIN_KEY))[0] == 404


async def test_public_routes_need_no_key(api: Api) -> None:
    """Health, readiness, metrics and the OpenAPI document are open."""
    for path in ("/healthz", "/readyz", "/v1/openapi.json"):
        assert (await api.get(path, key=None))[0] == 200
    resp = await api.client.get("/metrics")
    assert resp.status == 200
    assert "cuiban_events_accepted_total" in await resp.text()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/events", f"Authorization: Bearer {ADMIN_KEY}\r\nContent-Type: application/json"),
        ("/v1/callbacks/sms/aliyun/report?token=change-me-too", "Content-Type: application/json"),
        (
            "/wap/lookup",
            "Cookie: wap_csrf=aaaaaaaaaaaaaaaaaaaaaaaa\r\n"
            "Content-Type: application/x-www-form-urlencoded",
        ),
    ],
)
async def test_a_client_that_drops_mid_body_is_not_a_database_outage(
    app: web.Application, path: str, headers: str
) -> None:
    """Half a body and a hang-up: logged at info as `client_disconnected`, never as the
    database being unavailable."""
    # As `cuiban serve` runs it: the handler is not cancelled when the client goes.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await _drop_mid_body(host, port, path, headers)
    finally:
        await runner.cleanup()


async def _drop_mid_body(host: str, port: int, path: str, headers: str) -> None:
    with capture_logs() as logs:
        _, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\nContent-Length: 1000\r\n\r\n".encode()
            + b'{"events": ['
        )
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if any(log["event"] == "client_disconnected" for log in logs):
                break
            await asyncio.sleep(0.05)
    events = [(log["event"], log["log_level"]) for log in logs]
    assert ("client_disconnected", "info") in events, events
    assert not any(event == "database_unavailable" for event, _ in events), events


@pytest.mark.parametrize(
    ("path", "headers", "content_type"),
    [
        (
            "/v1/events",
            f"Authorization: Bearer {ADMIN_KEY}\r\nContent-Type: application/json",
            "application/problem+json",
        ),
        (
            "/wap/lookup",
            "Cookie: wap_csrf=aaaaaaaaaaaaaaaaaaaaaaaa\r\n"
            "Content-Type: application/x-www-form-urlencoded",
            "text/html",
        ),
    ],
)
async def test_a_body_that_stalls_gets_408_within_the_read_timeout(
    settings: Settings, database_url: str, path: str, headers: str, content_type: str
) -> None:
    """Half a body and then nothing: 408 once `http.read_timeout` has passed, not a
    connection held for as long as the client likes."""
    quick = settings.model_copy(
        update={"http": settings.http.model_copy(update={"read_timeout": 0.5})}
    )
    runner = web.AppRunner(
        create_app(quick, clock=ManualClock(START), database_url=database_url), access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\nContent-Length: 1000\r\n\r\n".encode()
            + b"case_no=A"
        )
        await writer.drain()
        began = time.monotonic()
        status = await asyncio.wait_for(reader.readline(), 5)
        answer = (await asyncio.wait_for(reader.read(4096), 5)).decode(errors="replace")
        writer.close()
        assert status.split(b" ")[1] == b"408", status
        assert 0.4 < time.monotonic() - began < 3
        assert f"Content-Type: {content_type}" in answer
    finally:
        await runner.cleanup()
