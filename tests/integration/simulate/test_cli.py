"""``cuiban simulate`` as a centre runs it: a real subprocess, exit codes, what it prints."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import load_settings
from hub.simulate.scenario import dump_events, synthetic
from hub.store.calendars import load_calendar


def cuiban(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter running our own CLI
        [sys.executable, "-m", "hub.cli", *args],
        cwd=cwd,
        env={**os.environ, "CUIBAN_CONFIG": ""},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("simulate",),
        ("simulate", "--events", "missing.jsonl"),
        ("simulate", "--events", "bad.jsonl"),
        ("simulate", "--synthetic", "--cases", "0"),
        ("simulate", "--synthetic", "--sms-price", "-1"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A missing or unreadable events file and impossible numbers: exit 2, one line, no trace."""
    (tmp_path / "bad.jsonl").write_text('{"event_id": "x", "type": "case.accepted"}\n', "utf-8")
    result = cuiban(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_replaying_exported_events_prints_what_would_have_been_sent(tmp_path: Path) -> None:
    """Three cases' events replayed: notices per kind and channel, SMS cost, a CSV and a chart."""
    settings = load_settings(None, environ={})
    calendar = load_calendar(settings.database.data_dir, settings.calendar.year_files)
    scenario = synthetic(seed=7, cases=3, days=10, calendar=calendar)
    events = tmp_path / "events.jsonl"
    events.write_text(dump_events(scenario.actions), "utf-8")

    result = cuiban(
        "simulate", "--events", str(events), "--sms-price", "0.05", "--out", "out", cwd=tmp_path
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "simulating:" in result.stderr and "100.0%" in result.stderr
    assert "case_accepted            sms" in result.stdout
    assert "reminders per person per day: median" in result.stdout
    assert "at 0.05 per segment" in result.stdout
    assert "all invariants hold" in result.stdout
    with (tmp_path / "out" / "messages.csv").open(encoding="utf-8") as log:
        rows = list(csv.DictReader(log))
    assert sum(1 for r in rows if r["kind"] == "case_accepted") == 3
    assert (tmp_path / "out" / "messages-per-day.svg").read_text("utf-8").startswith("<svg")
