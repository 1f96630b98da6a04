"""Retries spread out exponentially, with full jitter, up to the cap."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.delivery.backoff import Backoff, backoff_delay


def test_the_ceiling_doubles_until_the_cap() -> None:
    """30 s, 60 s, … up to an hour; the jitter picks a point below the ceiling."""
    delays = [backoff_delay(n, base=30, cap=3600, jitter=1.0).total_seconds() for n in (1, 2, 8, 9)]
    assert delays == [30, 60, 3600, 3600]
    assert backoff_delay(3, base=30, cap=3600, jitter=0.25) == timedelta(seconds=30)
    assert backoff_delay(3, base=30, cap=3600, jitter=0.0) == timedelta(0)


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=-1, max_value=2))
def test_a_delay_is_never_negative_nor_past_the_cap(attempt: int, jitter: float) -> None:
    """Whatever the random source says, the wait stays within [0, cap]."""
    delay = Backoff(base_seconds=30, cap_seconds=3600).after(attempt, jitter)
    assert timedelta(0) <= delay <= timedelta(hours=1)
