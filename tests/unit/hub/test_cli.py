"""The command line's choices that need no process: which event loop ``serve`` runs on."""

from __future__ import annotations

import uvloop

from hub.cli import serve_loop_factory


def test_a_sending_process_runs_on_uvloop_and_the_api_alone_on_asyncio() -> None:
    """``serve --role all`` and ``--role worker`` get uvloop's loop; ``--role api`` asyncio's."""
    assert serve_loop_factory("all") is uvloop.new_event_loop
    assert serve_loop_factory("worker") is uvloop.new_event_loop
    assert serve_loop_factory("api") is None
