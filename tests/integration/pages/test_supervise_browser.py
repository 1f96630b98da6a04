"""The supervision page in headless Chromium, driven over the DevTools protocol.

Skipped when ``/usr/bin/chromium`` is absent. With ``CUIBAN_DOCS_SCREENSHOT=1``
the desktop screenshot is also written to ``docs/supervise.png``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import INGEST_KEY, SUPERVISOR_KEY, Api
from tests.integration import stats_month as sm
from tests.integration.pages.test_supervise import png_size

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


class Page:
    """Just enough of the DevTools protocol: navigate, evaluate, screenshot."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), 20)
            if message.get("id") == ident:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def settle(self, path: str) -> None:
        for _ in range(200):
            state = await self.evaluate("[location.pathname, document.readyState]")
            if state == [path, "complete"]:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"page never settled on {path}: {state}")

    async def goto(self, url: str, path: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.settle(path)

    async def sign_in(self, base: str, key: str) -> None:
        await self.goto(f"{base}/supervise/login", "/supervise/login")
        await self.evaluate(
            f"document.getElementById('key').value = {json.dumps(key)};"
            " document.querySelector('form').submit(); true"
        )
        await asyncio.sleep(0.2)


@pytest.fixture
async def browser() -> AsyncIterator[Page]:
    profile = Path(tempfile.mkdtemp(prefix="cuiban-chromium-"))
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.05)
        port = port_file.read_text().split()[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                targets = await resp.json()
            url = next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
            async with session.ws_connect(url, max_msg_size=64 * 1024 * 1024) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                yield page
    finally:
        proc.kill()
        await proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def test_the_page_renders_in_chromium_for_a_supervisor_and_refuses_an_ingest_key(
    api: Api, browser: Page, tmp_path: Path
) -> None:
    """Chromium signs in with a supervisor key and sees the page; an ingest key is refused."""
    await sm.load_month(api, sm.generate(80, seed=11))
    base = str(api.client.make_url("")).rstrip("/")

    await browser.sign_in(base, INGEST_KEY)
    await browser.settle("/supervise/login")
    assert "不能查看" in await browser.evaluate("document.body.innerText")
    await browser.goto(f"{base}/supervise/", "/supervise/login")  # no session: back to the form

    await browser.sign_in(base, SUPERVISOR_KEY)
    await browser.settle("/supervise/")
    seen = await browser.evaluate(
        """({
          cookie: document.cookie,
          red: document.querySelector('#red-list h3').innerText,
          rows: document.querySelectorAll('table tbody tr').length,
          chart: document.getElementById('trend-chart').naturalWidth,
          text: document.body.innerText,
        })"""
    )
    assert seen["cookie"] == ""  # HttpOnly: no script reads the session
    assert seen["red"].startswith("红牌超期（") and seen["rows"] > 10
    assert seen["chart"] >= 800  # the SVG trend chart (9 in at 72 pt/in: 864 px)
    assert "市场监督管理局" in seen["text"] and "按时办结率" in seen["text"]
    await browser.goto(f"{base}/supervise/?from=2026-03-01&to=2026-03-31", "/supervise/")
    shot = base64.b64decode(
        (await browser.send("Page.captureScreenshot", captureBeyondViewport=True))["data"]
    )
    assert png_size(shot)[0] >= 1200
    if os.environ.get("CUIBAN_DOCS_SCREENSHOT") == "1":
        Path(__file__).parents[3].joinpath("docs", "supervise.png").write_bytes(shot)

    # A phone: the page fits the width; wide tables scroll inside their own boxes.
    await browser.send(
        "Emulation.setDeviceMetricsOverride",
        width=390,
        height=844,
        deviceScaleFactor=2,
        mobile=True,
    )
    await browser.goto(f"{base}/supervise/", "/supervise/")
    width = await browser.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
