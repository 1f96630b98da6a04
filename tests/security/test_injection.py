"""Markup and template syntax in event text stay text in every notice template of every channel.

The payloads go into every string of each kind's example context (the fields
free text from events ends up in: names, matters, reasons, locations,
comments). Values are data to Jinja, never template source, so ``{{ 7*7 }}``
must come out as written; HTML e-mail autoescapes, so ``<script>`` must not.
The WAP pages have their own test (tests/integration/test_wap.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from channels.render import EXAMPLES, TEMPLATE_CHANNELS, render
from core.notices import NoticeKind

PAYLOADS = ('<script>alert("x9")</script>', "{{ 7*7 }}", "{% for x in range(3) %}L{% endfor %}")


def _poisoned(context: dict[str, Any], payload: str) -> dict[str, Any]:
    def poison(value: Any) -> Any:
        if isinstance(value, str) and value != context.get("link"):
            return f"{value}{payload}"
        if isinstance(value, list):
            return [poison(v) for v in value]
        if isinstance(value, dict):
            return {k: poison(v) for k, v in value.items()}
        return value

    return {k: poison(v) for k, v in context.items()}


@pytest.mark.parametrize("kind", sorted(EXAMPLES, key=str))
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_event_text_render_as_text_in_every_channel(
    kind: NoticeKind, payload: str
) -> None:
    """No template evaluates a payload, and HTML e-mail escapes markup."""
    context = _poisoned(dict(EXAMPLES[kind]), payload)
    escaped = payload.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
    shown = 0
    for channel in TEMPLATE_CHANNELS:
        out = render(kind, channel, context)
        assert "LLL" not in out  # the {% for %} was not run
        assert "7*7" not in out or "{{ 7*7 }}" in out  # nor the {{ }} evaluated
        if channel == "email.html":
            assert "<script>" not in out
            shown += escaped in out.replace("&#39;", "'")
        else:
            shown += payload in out
    assert shown, "the payload reached no template: the test would prove nothing"
