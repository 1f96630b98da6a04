"""Who may import whom in hub/ (docs/decisions: the layout): HTTP stays at the edge.

Only the web edge (hub/api/, hub/pages/) and the wiring that builds and runs
the application import aiohttp's web layer; services take plain values and
raise domain errors (core/errors.py), so they run the same from a job, the CLI
or a test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HUB = Path(__file__).resolve().parents[3] / "hub"
EDGE = ("api", "pages")
# Wiring: the application, the CLI and its typed keys. The workers start from the
# services alone (hub/lifecycle.py), so they are checked like any service.
WIRING = {"app.py", "cli.py", "keys.py"}


def imports_web(source: str) -> bool:
    """Whether a module imports aiohttp's server side (``aiohttp.web`` in any spelling)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            if any(a.name.startswith("aiohttp.web") for a in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if module.startswith("aiohttp.web"):
                return True
            if module == "aiohttp" and any(a.name.startswith("web") for a in node.names):
                return True
    return False


def _outside_edge() -> list[str]:
    found = []
    for path in sorted(HUB.rglob("*.py")):
        relative = path.relative_to(HUB).as_posix()
        if relative.split("/")[0] in EDGE or relative in WIRING:
            continue
        found.append(relative)
    return found


def test_the_walk_sees_the_services() -> None:
    """The walk reaches the services (guards against a wrong path)."""
    assert {"broadcasts/service.py", "notices/outbox.py", "supervision/urges.py"} <= set(
        _outside_edge()
    )


@pytest.mark.parametrize("relative", _outside_edge())
def test_services_know_no_http(relative: str) -> None:
    """A module outside hub/api, hub/pages and the wiring does not import aiohttp.web."""
    assert not imports_web((HUB / relative).read_text(encoding="utf-8")), (
        f"hub/{relative} imports aiohttp's web layer: take plain values, raise a domain "
        "error (core/errors.py), and leave HTTP to hub/api or hub/pages"
    )


def test_the_workers_start_from_the_services() -> None:
    """The dispatcher, the webhooks, the scheduler and the demo are among the modules checked."""
    assert {
        "delivery/dispatcher.py",
        "delivery/webhooks.py",
        "planning/scheduler.py",
        "demo/seed.py",
        "demo/tour.py",
        "demo/history.py",
    } <= set(_outside_edge())


@pytest.mark.parametrize(
    "source",
    [
        "from aiohttp import web",
        "import aiohttp.web",
        "from aiohttp.web import Request",
        "from aiohttp.web_request import Request",
        "from aiohttp import web_exceptions",
    ],
)
def test_every_spelling_is_caught(source: str) -> None:
    """The checker flags each way of importing the web layer."""
    assert imports_web(source)


def test_the_http_client_is_allowed() -> None:
    """aiohttp's client (provider and webhook calls) is not the web layer."""
    assert not imports_web("import aiohttp\nfrom aiohttp import ClientSession, ClientTimeout")
