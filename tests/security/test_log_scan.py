"""The logs of a full run hold no secret, no full mobile number and no query code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

SECRETS = ("change-me-too", "change-me-three", "log-scan-api-key-0001")


def _without_timestamps(text: str) -> str:
    """Log lines minus their timestamps, whose microseconds could pass for a six-digit code."""
    lines = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            lines.append(line)
            continue
        if isinstance(record, dict):
            record.pop("timestamp", None)
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines)


def test_a_full_demo_run_logs_nothing_private(tmp_path: Path) -> None:
    """Every log line of `cuiban demo` (ingest, planning, sending) is free of private data."""
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "demo", "--verbose"],
        cwd=tmp_path,
        env={
            **os.environ,
            "CUIBAN_CONFIG": "",
            "CUIBAN_LOGGING__LEVEL": "debug",
            "CUIBAN_LOGGING__FORMAT": "json",
            "CUIBAN_AUTH__API_KEYS": '["log-scan-api-key-0001"]',
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    logs = _without_timestamps(result.stderr)
    assert logs.count("\n") > 50  # a real run logs plenty: the scan has something to read
    query_codes = set(re.findall(r"查询码(\d{6})", result.stdout))
    assert len(query_codes) >= 10  # the receipts carried them, to the applicants only
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", logs), "a full mobile number was logged"
    for code in query_codes:
        assert not re.search(rf"(?<!\d){code}(?!\d)", logs), f"query code {code} was logged"
    for secret in SECRETS:
        assert secret not in logs
