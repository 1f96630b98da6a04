"""Real ``cuiban serve --role worker`` subprocesses over one test database, for crash tests.

Each worker sends SMS through the console provider, so what it printed on
stdout is exactly what "the provider" received: the ids in those lines are
counted for duplicates and losses.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from channels.render import EXAMPLES
from core.notices import ChannelKind, NoticeKind
from hub.notices.outbox import Address, Notice, enqueue
from hub.privacy.vault import DataKey, Vault
from hub.store.db import _init_connection

SENT_LINE = re.compile(r"^── \S+ → sms:\S+.* \[(\d+)\]$", re.MULTILINE)
READY = "is serving on"


# A system clock needs real secrets: no shipped default, at least 16 bytes each.
ADMIN_KEY = "reliability-admin-key-0001"
CALLBACK_TOKEN = "reliability-callback-token-0001"


WORKER_DATA_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
#: What the worker processes seal and open with: notices queued here are sealed with it.
WORKER_VAULT = Vault(DataKey.from_hex(WORKER_DATA_KEY))


def worker_config(folder: Path, database_url: str, extra: str = "") -> Path:
    """A config for hub processes over ``database_url``; ``extra`` TOML is appended."""
    path = folder / "worker.toml"
    path.write_text(
        f"""
[database]
url = "{database_url}"
data_dir = "{folder / "data"}"

[http]
port = 0

[auth]
api_keys = ["{ADMIN_KEY}"]
callback_token = "{CALLBACK_TOKEN}"
link_secret = "reliability-link-secret-0001"

[clock]
mode = "system"

[privacy]
data_key = "{WORKER_DATA_KEY}"  # a system clock needs one

[logging]
level = "warning"
format = "json"
"""
        + extra,
        "utf-8",
    )
    return path


class Worker:
    """One ``cuiban serve --role worker`` process; stdout and stderr go to files."""

    def __init__(self, folder: Path, config: Path, name: str, *, role: str = "worker") -> None:
        self.out = folder / f"{name}.out"
        self.err = folder / f"{name}.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUIBAN_")}
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(  # noqa: S603 -- our own CLI, fixed arguments
                [sys.executable, "-m", "hub.cli", "serve", "--role", role, "--config", config],
                stdout=out,
                stderr=err,
                cwd=folder,
                env=env,
            )

    def text(self) -> str:
        return self.out.read_text("utf-8", errors="replace")

    def url(self) -> str:
        """The base URL the process printed when it was ready (``http.port = 0`` picks one)."""
        found = re.search(r"is serving on (http://\S+?)/ ", self.text())
        assert found, self.text()[-2000:]
        return found[1]

    def sent_ids(self) -> list[int]:
        return [int(m) for m in SENT_LINE.findall(self.text())]

    async def ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while READY not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start: {self.err.read_text()[-2000:]}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def stop(self, within: float = 30) -> int:
        """SIGTERM, then wait for a clean exit; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("worker did not stop within the grace period")
            await asyncio.sleep(0.05)
        return self.process.returncode


def notices(count: int, now: datetime) -> list[Notice]:
    context = {**EXAMPLES[NoticeKind.CASE_ACCEPTED], "link": "https://zw.gov.cn/c/1"}
    return [
        Notice(
            kind=NoticeKind.CASE_ACCEPTED,
            dedupe_key=f"load-{i}",
            addresses=[Address(channel=ChannelKind.SMS, recipient=f"138{i:08d}")],
            context=context,
            not_before=now,
            case_no=f"ZW-{i:06d}",
            person_id=f"p-{i}",
        )
        for i in range(count)
    ]


async def enqueue_due(database_url: str, count: int) -> None:
    """``count`` SMS notices due now, stored in one transaction (one NOTIFY wakes the workers)."""
    conn = await asyncpg.connect(database_url)
    try:
        await _init_connection(conn)
        async with conn.transaction():
            stored = await enqueue(
                conn,
                notices(count, datetime.now(UTC)),
                now=datetime.now(UTC),
                max_attempts=8,
                vault=WORKER_VAULT,
            )
        assert stored == count
    finally:
        await conn.close()


async def statuses(database_url: str) -> Counter[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM messages GROUP BY status")
    finally:
        await conn.close()
    return Counter({r["status"]: r["n"] for r in rows})


async def wait_for(database_url: str, status: str, count: int, within: float) -> Counter[str]:
    deadline = time.monotonic() + within
    while True:
        seen = await statuses(database_url)
        if seen[status] >= count:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"only {dict(seen)} after {within} s")
        await asyncio.sleep(0.05)
