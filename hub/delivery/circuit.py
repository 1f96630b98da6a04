"""Per-provider circuit breakers: a provider that keeps failing is left alone for a while."""

from __future__ import annotations

import asyncio
import enum
from datetime import datetime, timedelta


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Per provider: opens after ``threshold`` transient failures in a row, for ``open_for``.

    While open, the provider's messages wait (their ``not_before`` moves past the
    window) instead of spending attempts. After the window one probe goes out
    (half-open); its success closes the circuit, its failure opens it again.
    """

    def __init__(self, *, threshold: int, open_for: timedelta) -> None:
        self.threshold = threshold
        self.open_for = open_for
        self.failures = 0
        self.open_until: datetime | None = None
        self._probe: asyncio.Event | None = None

    def state(self, now: datetime) -> CircuitState:
        if self.open_until is None:
            return CircuitState.CLOSED
        return CircuitState.OPEN if now < self.open_until else CircuitState.HALF_OPEN

    @property
    def probing(self) -> bool:
        return self._probe is not None

    def start_probe(self) -> None:
        self._probe = asyncio.Event()

    async def probe_done(self) -> None:
        if self._probe is not None:
            await self._probe.wait()

    def _end_probe(self) -> None:
        if self._probe is not None:
            self._probe.set()
            self._probe = None

    def record_success(self) -> bool:
        """Note a send the provider took; return whether that closed an open circuit."""
        was_open = self.open_until is not None
        self.failures = 0
        self.open_until = None
        self._end_probe()
        return was_open

    def record_failure(self, now: datetime) -> bool:
        """Note a transient failure; return whether that (re)opened the circuit."""
        self.failures += 1
        opened = False
        if self.failures >= self.threshold and self.state(now) is not CircuitState.OPEN:
            self.open_until = now + self.open_for
            opened = True
        self._end_probe()
        return opened
