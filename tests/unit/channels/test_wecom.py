"""WeCom text: what a person wrote is shown literally, within the byte limits."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from channels.wecom import escaped

_MARKUP = st.sampled_from(["<", ">", "&", "<div>", "</a>", "&amp;", '"', "\n", "张", "a"])


@given(
    text=st.lists(_MARKUP | st.text(max_size=5), max_size=60).map("".join),
    limit=st.integers(min_value=0, max_value=120),
)
def test_escaped_text_holds_no_markup_and_reads_back_as_a_prefix(text: str, limit: int) -> None:
    """No `<` or `>` survives, no half entity is left at the cut, and unescaped it is the
    start of what was written, within the byte limit."""
    out = escaped(text, limit)
    assert "<" not in out and ">" not in out
    assert len(out.encode()) <= limit
    assert text.startswith(html.unescape(out))
    tail = out[out.rfind("&") :] if "&" in out else ""
    assert not tail or ";" in tail
