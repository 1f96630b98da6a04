"""How long a failed send or webhook post waits before it is tried again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

Jitter = Callable[[], float]


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> timedelta:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt−1))].

    "Full jitter" as in the AWS Architecture Blog, *Exponential Backoff And Jitter*
    (2015): it spreads retries of a burst that failed together. ``jitter`` is a
    number in [0, 1) from the injected random source.
    """
    ceiling = min(cap, base * 2.0 ** max(0, attempt - 1))
    return timedelta(seconds=ceiling * min(max(jitter, 0.0), 1.0))


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """The retry pacing (``dispatch.backoff_base_seconds`` / ``backoff_cap_seconds``)."""

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def after(self, attempt: int, jitter: float) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return backoff_delay(attempt, base=self.base_seconds, cap=self.cap_seconds, jitter=jitter)
