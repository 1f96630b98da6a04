"""Real headless Chromium (Debian's ``chromium`` package) driven by Playwright.

No browser is downloaded: Playwright starts ``/usr/bin/chromium`` (installed by
``.ci/run``). The tests skip, saying why, only when that binary is absent.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CUIBAN_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps calling Google's hosts,
# which this machine's closed network refuses; the sandbox needs user namespaces.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


def _have_chromium() -> bool:
    return CHROMIUM.exists()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One Chromium for the run; each test gets its own context (fresh cookies)."""
    if not _have_chromium():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium (as .ci/run does)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        # launch() gives Chromium a fresh, empty --user-data-dir of its own each run.
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
