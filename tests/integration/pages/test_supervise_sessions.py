"""/supervise/ sessions end at logout, when their key leaves the config and by the app's clock;
wrong keys on the sign-in form are logged and locked out per client."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from hub.app import create_app
from hub.clock import ManualClock
from hub.pages.supervise.routes import COOKIE
from hub.settings import ApiKey, Settings
from hub.store import attempts
from tests.conftest import SUPERVISOR_KEY, Api


async def _sign_in(api: Api, key: str) -> tuple[int, str]:
    """Post the sign-in form; the status and the session cookie's value."""
    resp = await api.client.post("/supervise/login", data={"key": key}, allow_redirects=False)
    cookie = resp.cookies.get(COOKIE)
    return resp.status, cookie.value if cookie else ""


async def _page_status(client: TestClient[web.Request, web.Application], sid: str) -> int:
    resp = await client.get(
        "/supervise/", headers={"Cookie": f"{COOKIE}={sid}"}, allow_redirects=False
    )
    return resp.status


async def test_logout_ends_the_session_even_for_a_copied_cookie(api: Api) -> None:
    """After logout the same cookie value (say, copied from the browser) opens nothing."""
    status, sid = await _sign_in(api, SUPERVISOR_KEY)
    assert status == 303 and sid
    assert await _page_status(api.client, sid) == 200
    resp = await api.client.post(
        "/supervise/logout", headers={"Cookie": f"{COOKIE}={sid}"}, allow_redirects=False
    )
    assert resp.status == 303
    assert await _page_status(api.client, sid) == 303


async def test_a_session_ends_when_its_key_is_removed_from_the_config(
    api: Api, settings: Settings, clock: ManualClock, database_url: str
) -> None:
    """A hub restarted without the supervisor's key refuses the sessions that key opened."""
    _, sid = await _sign_in(api, SUPERVISOR_KEY)
    assert await _page_status(api.client, sid) == 200
    kept = tuple(k for k in settings.auth.api_keys if k.role != "supervisor")
    reduced = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"api_keys": kept})}
    )
    client = TestClient(TestServer(create_app(reduced, clock=clock, database_url=database_url)))
    await client.start_server()
    try:
        assert await _page_status(client, sid) == 303
    finally:
        await client.close()
    # And the same key given another role is not a way back in either.
    as_ingest = settings.model_copy(
        update={
            "auth": settings.auth.model_copy(
                update={
                    "api_keys": (
                        *kept,
                        ApiKey.model_validate({"key": SUPERVISOR_KEY, "role": "ingest"}),
                    )
                }
            )
        }
    )
    client = TestClient(TestServer(create_app(as_ingest, clock=clock, database_url=database_url)))
    await client.start_server()
    try:
        assert await _page_status(client, sid) == 303
    finally:
        await client.close()


async def test_a_session_expires_after_eight_hours_of_the_apps_clock(
    api: Api, clock: ManualClock
) -> None:
    """The session's age is read from the injected clock, not the machine's."""
    _, sid = await _sign_in(api, SUPERVISOR_KEY)
    clock.advance_by(timedelta(hours=7, minutes=59))
    assert await _page_status(api.client, sid) == 200
    clock.advance_by(timedelta(minutes=2))
    assert await _page_status(api.client, sid) == 303


async def test_wrong_keys_are_logged_and_lock_the_client_out(api: Api, clock: ManualClock) -> None:
    """Ten wrong keys from one client lock it out, the right key too, until the lockout ends."""
    limit = attempts.SUPERVISE_SIGN_IN_PER_CLIENT
    with capture_logs() as logs:
        for i in range(limit.attempts):
            status, _ = await _sign_in(api, f"guess-{i:04d}-wrong")
            assert status == 401
        locked = await api.client.post(
            "/supervise/login", data={"key": SUPERVISOR_KEY}, allow_redirects=False
        )
    assert locked.status == 429 and COOKIE not in locked.cookies
    assert int(locked.headers["Retry-After"]) == int(limit.lockout.total_seconds())
    refused = [e for e in logs if e["event"] == "supervise_sign_in_refused"]
    assert [e["reason"] for e in refused] == ["wrong_key"] * limit.attempts + ["locked"]
    assert all("guess" not in str(e) for e in refused)  # the typed key is never logged
    clock.advance_by(limit.lockout + timedelta(seconds=1))
    status, sid = await _sign_in(api, SUPERVISOR_KEY)
    assert status == 303 and sid


async def test_wrong_keys_in_a_header_count_against_the_same_limit(api: Api) -> None:
    """Guessing through `Authorization: Bearer` on the pages is limited and logged the same."""
    limit = attempts.SUPERVISE_SIGN_IN_PER_CLIENT
    with capture_logs() as logs:
        for i in range(limit.attempts):
            resp = await api.client.get(
                "/supervise/", headers={"Authorization": f"Bearer guess-{i:04d}-wrong"}
            )
            assert resp.status == 401
        resp = await api.client.get(
            "/supervise/", headers={"Authorization": f"Bearer {SUPERVISOR_KEY}"}
        )
    assert resp.status == 429
    refused = [e for e in logs if e["event"] == "supervise_sign_in_refused"]
    assert {e["via"] for e in refused} == {"header"} and len(refused) == limit.attempts + 1
