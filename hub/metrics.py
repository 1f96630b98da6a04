"""A few counters in the Prometheus text format, without a client library to carry."""

from __future__ import annotations

from collections import Counter

_HELP = {
    "cuiban_events_accepted_total": "Events stored and applied.",
    "cuiban_events_duplicate_total": "Events received again with the same event_id and body.",
    "cuiban_http_requests_total": "HTTP requests answered.",
    "cuiban_notices_sent_total": "Notices a provider accepted.",
    "cuiban_notices_failed_total": "Send attempts that failed and will be retried.",
    "cuiban_notices_dead_total": "Notices given up on (last attempt, or a permanent error).",
    "cuiban_leases_reaped_total": "Claimed notices returned to the queue by the lease reaper.",
    "cuiban_timers_fired_total": "Reminder and escalation timers fired.",
    "cuiban_timers_set_aside_total": "Timers that could not fire, set aside with their error.",
}


class Metrics:
    def __init__(self) -> None:
        self._counters: Counter[str] = Counter()

    def inc(self, name: str, by: int = 1) -> None:
        self._counters[name] += by

    def value(self, name: str) -> int:
        return self._counters[name]

    def render(self) -> str:
        lines = []
        for name in sorted(set(_HELP) | set(self._counters)):
            lines += [
                f"# HELP {name} {_HELP.get(name, name)}",
                f"# TYPE {name} counter",
                f"{name} {self._counters[name]}",
            ]
        return "\n".join(lines) + "\n"
