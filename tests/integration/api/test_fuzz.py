"""Whatever arrives, the API answers 2xx or 4xx problem+json — never a 5xx."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.app import create_app
from hub.clock import ManualClock
from hub.settings import Settings
from tests.conftest import ADMIN_KEY, START
from tests.integration import events as ev


@pytest.fixture
def live_url(settings: Settings, database_url: str) -> Iterator[str]:
    """The hub on a loopback port, run by its own event loop in a thread."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(
        create_app(settings, clock=ManualClock(START), database_url=database_url)
    )

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(runner.addresses[0][1])

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def send(url: str, method: str, data: bytes) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.headers.get_content_type()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _mutated_event(draw: Any) -> dict[str, Any]:
    base = draw(
        st.sampled_from(
            [
                ev.accepted("F-1", "2026-03-02T10:00:00+08:00"),
                ev.node_started("F-1", "n1", "2026-03-02T11:00:00+08:00"),
                ev.simple("case.suspended", "F-1", "2026-03-03T10:00:00+08:00", reason="x"),
                ev.simple(
                    "case.ready_for_pickup", "F-1", "2026-03-04T10:00:00+08:00", location="窗口"
                ),
            ]
        )
    )
    event = dict(base)
    for key in draw(st.lists(st.sampled_from(sorted(event)), max_size=3, unique=True)):
        event[key] = draw(json_values | st.text(alphabet=st.characters(), max_size=300))
    return event


mutated_events = st.composite(_mutated_event)()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=json_values
    | mutated_events
    | st.builds(lambda es: {"events": es}, st.lists(mutated_events, max_size=5))
)
def test_no_event_body_causes_a_server_error(live_url: str, body: Any) -> None:
    """Random JSON and mutated events are stored or refused with a 4xx problem, never a 5xx."""
    status, content_type = send(f"{live_url}/v1/events", "POST", json.dumps(body).encode())
    assert status < 500
    if status >= 400:
        assert content_type == "application/problem+json"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        ["/v1/cases/", "/v1/people/", "/v1/departments/", "/v1/cases?department="]
    ),
    tail=st.text(max_size=40),
    body=json_values,
)
def test_no_path_or_query_causes_a_server_error(
    live_url: str, path: str, tail: str, body: Any
) -> None:
    """Any text in a path or query parameter, NUL and surrogates included, gets a non-5xx answer."""
    quoted = urllib.parse.quote(tail, safe="", errors="surrogatepass")
    method = "PUT" if path in ("/v1/people/", "/v1/departments/") else "GET"
    status, _ = send(
        f"{live_url}{path}{quoted}", method, json.dumps(body).encode() if method == "PUT" else b""
    )
    assert status < 500


def test_nul_and_lone_surrogates_are_refused(live_url: str) -> None:
    """Text PostgreSQL cannot store is refused with 4xx, not crashed on."""
    event = ev.accepted("F-NUL", "2026-03-02T10:00:00+08:00")
    event["matter"] = {"code": "M\u0000", "name": "x"}
    assert send(f"{live_url}/v1/events", "POST", json.dumps(event).encode())[0] == 422
    raw = json.dumps(ev.accepted("F-SUR", "2026-03-02T10:00:00+08:00"), ensure_ascii=False)
    raw = raw.replace("张三丰", "\\ud800")
    assert send(f"{live_url}/v1/events", "POST", raw.encode())[0] == 422
    assert send(f"{live_url}/v1/cases/%00", "GET", b"")[0] == 400
