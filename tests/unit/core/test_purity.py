"""core/ stays pure: no I/O, no clocks, no framework imports (style rule 1 and 2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[3] / "core"
MODULES = sorted(CORE.glob("*.py"))

FORBIDDEN = frozenset(
    {
        "hub",
        "channels",
        "asyncpg",
        "aiohttp",
        "aiosmtplib",
        "apscheduler",
        "socket",
        "subprocess",
        "requests",
        "urllib",
        "http",
        "os",
        "pathlib",
        "time",  # the module; `from datetime import time` is fine
    }
)
FORBIDDEN_CALLS = frozenset({"open", "input", "__import__", "exec", "eval"})
# Reading a clock: time is a parameter in core (the hub's Clock is injected).
CLOCK_READS = frozenset(
    {
        "now",
        "utcnow",
        "today",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "time_ns",
    }
)


def _violations(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN]
        elif isinstance(node, ast.ImportFrom):
            root = (node.module or "").split(".")[0]
            if node.level == 0 and root in FORBIDDEN:
                found.append(node.module or "")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            if isinstance(func, ast.Attribute) and func.attr in {"open", "read_text", "read_bytes"}:
                name = func.attr
            if isinstance(func, ast.Attribute) and (
                func.attr in CLOCK_READS
                # time.time(); a datetime's own .time() (its time of day) is fine
                or (
                    func.attr == "time"
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "time"
                )
            ):
                found.append(f"{func.attr}() reads the clock")
            if name in FORBIDDEN_CALLS | {"read_text", "read_bytes"}:
                found.append(f"{name}()")
    return found


def test_core_has_modules() -> None:
    """The walk sees the calendar and deadline modules (guards against a wrong path)."""
    names = {p.name for p in MODULES}
    assert {"calendar.py", "deadlines.py", "levels.py", "stages.py", "errors.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    """A core module imports no I/O, clock or framework module and opens no file."""
    assert _violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "import time",
        "from pathlib import Path",
        "import urllib.request",
        "from hub.store import x",
        "import aiohttp",
        "open('x')",
        "Path('x').read_text()",
        "from datetime import datetime\ndatetime.now()",
        "import datetime\ndatetime.datetime.now(datetime.UTC)",
        "from datetime import date\ndate.today()",
        "datetime.utcnow()",
        "time.time()",
        "time.monotonic()",
    ],
)
def test_checker_catches_impurity(source: str) -> None:
    """The checker itself flags each kind of impurity."""
    assert _violations(source)


def test_checker_allows_datetime_time() -> None:
    """`from datetime import time`, a datetime's time of day and tomllib parsing are allowed."""
    assert _violations("from datetime import time\nimport tomllib\ntomllib.loads('')") == []
    assert _violations("def f(now):\n    return now.time(), now.date()") == []
