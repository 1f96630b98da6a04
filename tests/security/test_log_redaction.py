"""A logged request path never carries the signed token that opens the page."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import structlog
from aiohttp import web

from hub.logging import configure_logging
from tests.conftest import Api
from tests.integration import wap_data as data


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The hub's real log pipeline (redaction included), written to a buffer."""
    buffer = io.StringIO()
    configure_logging("info", "json", stream=buffer)
    try:
        yield buffer
    finally:
        structlog.reset_defaults()


async def test_signed_tokens_in_logged_paths_are_redacted(
    api: Api, app: web.Application, log_lines: io.StringIO
) -> None:
    """A refused post to a case link and an inbox link logs the path with the token cut out."""
    await data.seed(api)
    case = data.case_link(app, data.CLOSED_CASE)
    inbox = data.inbox_link(app, "p-li")
    for path in (f"{case}/rate", f"{inbox}/read"):
        resp = await api.client.post(path, data={"rating": "5"}, allow_redirects=False)
        assert resp.status == 403  # no CSRF token: refused, and logged
    text = log_lines.getvalue()
    assert text.count("wap_csrf_refused") == 2
    assert '"/wap/c/***/rate"' in text and '"/wap/inbox/***/read"' in text
    for link in (case, inbox):
        token = link.rsplit("/", 1)[1]
        assert token not in text
