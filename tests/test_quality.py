"""The project's own gates, so the one test command checks everything: lint, types, packaging."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed tool invocations on our own tree
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_ruff_finds_nothing() -> None:
    """ruff check passes on the whole tree."""
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_core_channels_and_hub() -> None:
    """mypy --strict passes on core/, channels/ and hub/."""
    result = _run("mypy", "--strict", "core", "channels", "hub", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wheel_carries_templates_config_and_migrations(tmp_path: Path) -> None:
    """A wheel carries the calendars, templates, default config and SQL, not just the tree."""
    result = _run(
        "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), ".", timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("cuiban-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "config/cuiban.toml",
        "config/calendars/2004.toml",
        "config/calendars/2026.toml",
        "hub/store/sql/queries.sql",
        "hub/store/sql/migrations/0001_initial.sql",
        "core/py.typed",
    }
    assert expected <= names
    templates = {n for n in names if n.startswith("templates/") and n.endswith(".j2")}
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.j2")}
    assert templates == on_disk
