"""The fast JSON path answers exactly as the standard parser and the walk of every string."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.jsontext import MAX_DEPTH, NotJson, TooDeep, Unstorable, _parse_and_walk, parse_json

# Text that exercises the byte-level checks: quotes, backslashes, brackets inside
# strings, NUL, lone surrogates, long digit runs, and any other character.
_tricky = st.sampled_from(['"', "\\", "[", "]", "{", "}", "\x00", "\ud800", "\udc00", "9" * 20])
texts = st.lists(st.one_of(_tricky, st.characters()), max_size=8).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    texts,
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(texts, children, max_size=3)
    ),
    max_leaves=12,
)


def _nest(value: Any, levels: int) -> Any:
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def _answer(parse: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "value", parse(raw)
    except Unstorable as exc:
        return "Unstorable", exc.field
    except (NotJson, TooDeep) as exc:
        return type(exc).__name__, None


@settings(max_examples=400)
@given(values, st.integers(min_value=0, max_value=MAX_DEPTH + 3), st.booleans())
def test_fast_path_answers_as_the_walk(value: Any, levels: int, ascii_only: bool) -> None:
    """Any JSON text, however escaped or nested, parses to what the walk gives, or fails alike."""
    raw = json.dumps(_nest(value, levels), ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    fast = _answer(parse_json, raw)
    slow = _answer(_parse_and_walk, raw)
    assert fast == slow
    if fast[0] == "value":
        assert json.dumps(fast[1]) == json.dumps(slow[1])  # ints stay ints, floats floats


@pytest.mark.parametrize(
    ("raw", "answer"),
    [
        (b'{"a": "x\\u0000"}', ("Unstorable", "a")),
        (b'{"a": ["\\ud800"]}', ("Unstorable", "a.0")),
        (
            b'{"n": 123456789012345678901234567890}',
            ("value", {"n": 123456789012345678901234567890}),
        ),
        (b"[" * 33 + b"]" * 33, ("TooDeep", None)),
        (b"[" * 32 + b"]" * 32, ("value", json.loads(b"[" * 32 + b"]" * 32))),
        (
            b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"\\\\"}',
            ("value", {"a": "[" * 40 + '"\\'}),
        ),
        (b"\xef\xbb\xbf{}", ("value", {})),
        (b"{", ("NotJson", None)),
    ],
)
def test_bodies_at_the_edges(raw: bytes, answer: tuple[str, Any]) -> None:
    """NUL, lone surrogates, huge integers, the depth bound and a BOM answer as before."""
    assert _answer(parse_json, raw) == answer
