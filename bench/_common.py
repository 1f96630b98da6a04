"""Shared plumbing for the benchmarks: a scratch database, progress lines, medians, plots.

Each benchmark is one script (``python bench/<name>.py``); this module is not one.
Every figure a benchmark reports is a ratio to a baseline measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the loopback fakes live in tests/fakes; appended, so a
    sys.path.append(str(ROOT))  # PYTHONPATH copy of an older hub/ can be measured (A/B)

import asyncpg  # noqa: E402 -- after the path is set

from hub.privacy.vault import DataKey, Vault  # noqa: E402
from hub.store import db  # noqa: E402

BENCH_DATA_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
#: The key of every benchmark's hub: what a benchmark queues is sealed as the hub seals it.
BENCH_VAULT = Vault(DataKey.from_hex(BENCH_DATA_KEY))

PLOTS = ROOT / "docs" / "bench"


def progress(text: str) -> None:
    """One progress line on stderr (stdout carries the result table)."""
    print(f"  … {text}", file=sys.stderr, flush=True)


class Ticker:
    """A progress line that rewrites itself at most twice a second: ``done/total rate``."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.started = self._shown = time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self._shown < 0.5 and done < self.total:
            return
        self._shown = now
        rate = done / max(now - self.started, 1e-9)
        end = "\n" if done >= self.total else ""
        print(
            f"\r  … {self.label}: {done:,}/{self.total:,} ({rate:,.0f}/s)",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """``min–max`` of repeated measurements, to show how noisy the machine was."""
    return f"{min(values):,.0f}–{max(values):,.0f}"


@contextlib.asynccontextmanager
async def scratch_database(url: str = "", name: str = "cuiban_bench") -> AsyncIterator[str]:
    """A database whose tables the bench may drop: ``url`` as given, or an embedded one.

    Without ``url`` an embedded PostgreSQL (pgserver) starts in a temp dir and is
    stopped afterwards; a fresh database ``name`` is created in it.
    """
    from hub.logging import configure_logging

    configure_logging("warning")  # the embedded server's start-up lines are not results
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="cuiban-bench-"))
    try:
        server = await asyncio.to_thread(db.embedded_url, folder / "pg")
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        db.stop_embedded(folder / "pg")
        shutil.rmtree(folder, ignore_errors=True)


async def fresh_schema(url: str) -> None:
    """Drop every table and run the migrations: each run starts from empty tables."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await db.migrate(conn)
    finally:
        await conn.close()


def bar_plot(
    path: Path | None,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    ylabel: str,
    goal: float | None = None,
    goal_label: str = "goal",
    log: bool = False,
) -> None:
    """A labelled bar chart (PNG) with an optional goal line; nothing when ``path`` is None."""
    if path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8), dpi=100)
    bars = ax.bar(labels, values, color=["#9aa5b1"] + ["#2f6fb0"] * (len(values) - 1))
    ax.bar_label(bars, labels=[f"{v:,.0f}" if v >= 100 else f"{v:.3g}" for v in values], fontsize=8)
    if goal is not None:
        ax.axhline(goal, color="#c0392b", linestyle="--", linewidth=1)
        ax.text(
            len(values) - 0.5,
            goal,
            f" {goal_label}",
            color="#c0392b",
            va="bottom",
            ha="right",
            fontsize=8,
        )
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def plot_path(arg: str, default: str) -> Path | None:
    """``--plot`` value: '' means the default file under docs/bench, 'none' means no plot."""
    if arg == "none":
        return None
    return Path(arg) if arg else PLOTS / default


@contextlib.asynccontextmanager
async def fake_server(*, uvloop: bool = False) -> AsyncIterator[str]:
    """The fake Aliyun (bench/_fake_server.py) in its own process; yields its base URL."""
    args = [sys.executable, str(ROOT / "bench" / "_fake_server.py")]
    if uvloop:
        args.append("--uvloop")
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()
        if line[:1] != ["port"]:
            raise RuntimeError(f"fake server did not start: {line}")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        process.terminate()
        await process.wait()


async def fake_stats(session: object, base: str, *, reset: bool = False) -> dict[str, int]:
    """The fake's counters (accepted sends, distinct OutIds, JSON posts); optionally reset."""
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    async with session.get(base + "/_stats") as response:
        stats: dict[str, int] = await response.json()
    if reset:
        async with session.post(base + "/_reset") as response:
            await response.read()
    return stats


API_KEY = "bench-admin-key-0001"


def hub_config(folder: Path, database_url: str, extra: str = "") -> Path:
    """A settings file for ``cuiban serve`` subprocesses: this database, any free port."""
    path = folder / "cuiban.toml"
    path.write_text(
        f"""
[database]
url = "{database_url}"
data_dir = "{folder / "data"}"

[http]
port = 0

[auth]
api_keys = ["{API_KEY}"]
callback_token = "bench-callback-token-0001"  # a system clock needs real secrets
link_secret = "bench-link-secret-0001"

[clock]
mode = "system"

[privacy]
data_key = "{BENCH_DATA_KEY}"  # a system clock needs one

[logging]
level = "warning"
format = "json"

[policy]
quiet_hours = ""  # the system clock may read any hour; nothing waits for the morning
{extra}
""",
        "utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def hub_process(
    config: Path, role: str, *, uvloop: bool = False, plain_vault: bool = False
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """``cuiban serve --role <role>`` in its own process; yields (base URL, process).

    ``plain_vault``: personal data stored unencrypted (bench/_plain_vault.py), to
    measure what the encryption costs.
    """
    code = "from hub.cli import main; import sys; sys.exit(main())"
    if uvloop:
        code = "import uvloop; uvloop.install(); " + code
    if plain_vault:
        code = f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); " + (
            "import _plain_vault; _plain_vault.install(); " + code
        )
    args = [sys.executable, "-c", code, "serve", "--role", role, "--config", str(config)]
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, cwd=config.parent
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            if "is serving on" in line:
                url = line.split("serving on ", 1)[1].split()[0].rstrip("/")
                break
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"cuiban serve --role {role} did not start")
        drain = asyncio.create_task(_drain(process.stdout))
        yield url, process
        drain.cancel()
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux ``/proc``), in seconds.

    Events per CPU-second of the serving process stays comparable when other work
    shares the cores, where events per wall second does not.
    """
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(pgdata: Path) -> float:
    """CPU seconds of an embedded PostgreSQL (``pgdata``): the postmaster, its live children,
    and the children it has reaped (a backend whose connection closed)."""
    import os

    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == postmaster:
                    total += cpu_seconds(int(entry.name))
            except (OSError, ValueError):
                continue  # a backend that ended meanwhile
    return total


async def _drain(stream: asyncio.StreamReader) -> None:
    """Read a child's stdout so a full pipe never blocks it."""
    while await stream.read(65536):
        pass


@contextlib.asynccontextmanager
async def profiled(pid: int | None, path: str) -> AsyncIterator[None]:
    """py-spy samples process ``pid`` while the block runs (raw folded stacks to ``path``)."""
    if not path or pid is None:
        yield
        return
    import signal

    spy = await asyncio.create_subprocess_exec(
        "py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
        "--output", path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.5)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        await spy.wait()
        progress(f"profile of pid {pid} written to {path}")
