"""The one Clock every part of Cuiban reads time from.

``system`` is wall time; ``manual`` moves only when told (tests and
``POST /v1/test-clock/advance``); ``accelerated`` runs ``speed`` simulated
seconds per real second from ``start`` (the demo). All return aware UTC.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from core.errors import InputError


class Clock(Protocol):
    def now(self) -> datetime: ...


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise InputError(f"{instant.isoformat()} has no UTC offset")
    return instant.astimezone(UTC)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until advanced; it never goes backwards."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)
        self._advancing = asyncio.Lock()

    def now(self) -> datetime:
        return self._now

    def advancing(self) -> asyncio.Lock:
        """Held for one whole advance, so two advances cannot interleave their stops."""
        return self._advancing

    def check_target(self, instant: datetime) -> datetime:
        """``instant`` in UTC, if the clock may move there; InputError if it lies behind."""
        instant = _aware(instant)
        if instant < self._now:
            raise InputError(
                f"the test clock is at {self._now.isoformat()}; "
                f"it cannot go back to {instant.isoformat()}"
            )
        return instant

    def advance_to(self, instant: datetime) -> datetime:
        self._now = self.check_target(instant)
        return self._now

    def advance_by(self, delta: timedelta) -> datetime:
        return self.advance_to(self._now + delta)


class AcceleratedClock:
    """Simulated time running ``speed`` times faster than the monotonic clock."""

    def __init__(self, start: datetime, speed: float) -> None:
        if speed <= 0:
            raise InputError("clock speed must be positive")
        self._start = _aware(start)
        self._speed = speed
        self._origin = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def real_seconds_until(self, instant: datetime) -> float:
        return max(0.0, (instant - self.now()).total_seconds() / self._speed)


def real_seconds_until(clock: Clock, instant: datetime) -> float:
    """How long to really wait for ``clock`` to reach ``instant`` (never negative).

    An accelerated clock gets there ``speed`` times sooner; any other clock in
    plain seconds (a manual clock only moves when told, so waiting is moot).
    """
    if isinstance(clock, AcceleratedClock):
        return clock.real_seconds_until(instant)
    return max(0.0, (instant - clock.now()).total_seconds())
