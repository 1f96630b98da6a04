"""The clocks: manual moves only forward and only when told; accelerated runs faster."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InputError
from hub.clock import AcceleratedClock, ManualClock, SystemClock

START = datetime.fromisoformat("2026-03-02T09:00:00+08:00")


def test_manual_clock_stands_still_and_moves_forward_only() -> None:
    """A manual clock returns the same instant until advanced, and refuses to go back."""
    clock = ManualClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance_by(timedelta(hours=2)) == START + timedelta(hours=2)
    with pytest.raises(InputError, match="cannot go back"):
        clock.advance_to(START)
    assert clock.now().tzinfo == UTC


def test_clocks_refuse_naive_instants() -> None:
    """A start without a UTC offset is refused rather than guessed."""
    with pytest.raises(InputError):
        ManualClock(datetime(2026, 3, 2, 9))


def test_accelerated_clock_runs_at_its_speed() -> None:
    """An accelerated clock advances `speed` simulated seconds per real second."""
    clock = AcceleratedClock(START, speed=3600)
    time.sleep(0.05)
    elapsed = clock.now() - START
    assert timedelta(seconds=150) <= elapsed <= timedelta(seconds=3600)
    assert clock.real_seconds_until(clock.now() + timedelta(hours=1)) == pytest.approx(1.0, abs=0.1)


def test_system_clock_is_aware_utc() -> None:
    """The system clock gives aware UTC instants."""
    assert SystemClock().now().tzinfo == UTC
