"""SMS length and billed segments (the signature counts; 70 one, else 67 per segment)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.sms_length import count_segments, signed_text, sms_length


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_segment_boundaries(length: int, segments: int) -> None:
    """Up to 70 characters is one SMS; beyond, each 67 characters is one more segment."""
    assert count_segments("字" * length) == segments


def test_signature_counts_toward_length() -> None:
    """【签名】 with its brackets is part of the billed text."""
    assert signed_text("您好", "某市政务") == "【某市政务】您好"
    assert sms_length("您好", "某市政务") == 8
    assert count_segments("字" * 64, "某市政务") == 1
    assert count_segments("字" * 65, "某市政务") == 2


def test_latin_digits_and_punctuation_count_one_each() -> None:
    """Domestic counting treats every character alike, Latin or Chinese."""
    assert sms_length("CX NJ-001，") == 10


@given(st.text(max_size=600), st.text(max_size=12))
def test_segments_cover_the_text_and_are_minimal(body: str, sign: str) -> None:
    """The segments hold the whole text, and one fewer would not."""
    length = sms_length(body, sign)
    segments = count_segments(body, sign)
    if length <= 70:
        assert segments == (1 if length else 0)
    else:
        assert segments * 67 >= length > (segments - 1) * 67


@given(st.text(max_size=300), st.text(min_size=1, max_size=5))
def test_longer_text_never_costs_fewer_segments(body: str, more: str) -> None:
    """Appending characters never lowers the segment count."""
    assert count_segments(body + more) >= count_segments(body)
