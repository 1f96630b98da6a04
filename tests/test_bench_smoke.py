"""Every benchmark in bench/ runs end to end at a tiny size, so none of them rots.

The figures are not checked (CI machines are noisy); only that each script runs
against a scratch database, prints its table and draws its plot.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

TINY = {
    "send_throughput.py": ["--count", "60", "--apprise-count", "5", "--repeats", "1"],
    "event_ingest.py": ["--batches", "2", "--batch-size", "40", "--repeats", "1"],
    "tick_cost.py": ["--sizes", "50", "100", "--repeats", "1"],
    "vault_cost.py": ["--count", "50", "--repeats", "1"],
    "privacy_cost.py": ["--batches", "2", "--batch-size", "40", "--count", "40", "--repeats", "1"],
    "dispatch_lateness.py": ["--count", "30", "--spread", "0.5", "--lead", "0.5"],
    "vs_apscheduler.py": ["--count", "40", "--due", "0"],
    "multi_worker.py": ["--workers", "2", "--count", "40", "--repeats", "1"],
    "multi_api.py": [
        "--processes",
        "1",
        "2",
        "--batches",
        "2",
        "--batch-size",
        "40",
        "--repeats",
        "1",
    ],
}


@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_runs_at_a_tiny_size(script: str, database_url: str, tmp_path: Path) -> None:
    """The benchmark finishes, prints a Markdown table and writes its PNG."""
    plot = tmp_path / "plot.png"
    result = subprocess.run(  # noqa: S603 -- our own scripts, fixed arguments
        [sys.executable, str(BENCH / script), *TINY[script], "--database-url", database_url,
         "--plot", str(plot)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "|---" in result.stdout, result.stdout
    assert plot.stat().st_size > 0
