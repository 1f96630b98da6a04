"""schemathesis over GET /v1/openapi.json against a live hub process (a small example count in CI).

Checks: no server error, and every response matches the status codes and
schemas the document declares. The provider callbacks get the configured token, so
their bodies are fuzzed too; the WAP forms and supervision pages (HTML, not in the
document) are fuzzed by Hypothesis in ``tests/integration/api/test_fuzz.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.workers import ADMIN_KEY, CALLBACK_TOKEN, Worker, worker_config

EXAMPLES = int(os.environ.get("CUIBAN_SCHEMATHESIS_EXAMPLES", "20"))


@pytest.fixture
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cuiban-schemathesis-") as name:
        yield Path(name)


async def test_schemathesis_finds_no_server_error_and_no_schema_break(
    folder: Path, database_url: str
) -> None:
    """Generated requests for every documented operation: 0 server errors, 0 schema breaks."""
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    hub = Worker(folder, worker_config(folder, database_url), "api", role="api")
    # The callbacks with the right ?token=, so generated pushes reach the parsers (a random
    # token only ever meets the 403). Read from the working directory, `folder`.
    (folder / "schemathesis.toml").write_text(
        f'parameters = {{ "query.token" = "{CALLBACK_TOKEN}" }}\n', "utf-8"
    )
    try:
        await hub.ready()
        result = subprocess.run(  # noqa: ASYNC221, S603 -- our own test tool, fixed arguments
            [
                cli,
                "run",
                f"{hub.url()}/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {ADMIN_KEY}",
                "--checks",
                "not_a_server_error,status_code_conformance,response_schema_conformance,"
                "content_type_conformance",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                "9",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=folder,
        )
    finally:
        assert await hub.stop() == 0
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    print(result.stdout[-1500:])
