"""What ``GET /metrics`` shows, with prometheus_client: counters by label, two histograms.

One :class:`Metrics` per application (its own registry, so two hubs in one
process or test never mix their numbers). The metric names are fixed; callers
count through :meth:`Metrics.inc` with the labels the metric declares:

* ``cuiban_http_requests_total{route,method,status}`` — every answered request;
  ``route`` is the route's pattern (``/v1/cases/{case_no}``), never the raw path.
* ``cuiban_notices_{sent,failed,dead}_total{channel,provider,kind}`` and
  ``cuiban_notices_total{channel,provider,kind,status}`` — each send's outcome.
* ``cuiban_send_seconds{channel,provider}`` — how long a provider took to answer.
* ``cuiban_send_lateness_seconds{channel,kind}`` — sent_at − not_before: how late a
  notice left after it was allowed to.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

_NOTICE = ("channel", "provider", "kind")
# name -> (help, label names)
COUNTERS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "cuiban_events_accepted_total": ("Events stored and applied.", ()),
    "cuiban_events_duplicate_total": (
        "Events received again with the same event_id and body.",
        (),
    ),
    "cuiban_http_requests_total": ("HTTP requests answered.", ("route", "method", "status")),
    "cuiban_notices_sent_total": ("Notices a provider accepted.", _NOTICE),
    "cuiban_notices_failed_total": ("Send attempts that failed and will be retried.", _NOTICE),
    "cuiban_notices_dead_total": (
        "Notices given up on (last attempt, or a permanent error).",
        _NOTICE,
    ),
    "cuiban_notices_total": ("Send attempts by outcome status.", (*_NOTICE, "status")),
    "cuiban_leases_reaped_total": (
        "Claimed notices returned to the queue by the lease reaper.",
        (),
    ),
    "cuiban_timers_fired_total": ("Reminder and escalation timers fired.", ()),
    "cuiban_timers_set_aside_total": (
        "Timers that could not fire, set aside with their error.",
        (),
    ),
    "cuiban_webhooks_delivered_total": ("Status webhooks the approval system took.", ()),
    "cuiban_webhooks_failed_total": ("Status webhook posts that failed and will retry.", ()),
    "cuiban_webhooks_dead_total": ("Status webhooks given up on.", ()),
}
# Providers answer in tens of milliseconds to seconds; a timeout is 10 s.
SEND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# On time is under a second; a queue behind a rate limit, minutes; an outage, hours.
LATENESS_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0)


class Metrics:
    """The hub's metrics in their own registry."""

    def __init__(self) -> None:
        # The *_created series say when a label set was first seen: noise on a dashboard.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # the library has no hint
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters = {
            name: Counter(name, text, labels, registry=self.registry)
            for name, (text, labels) in COUNTERS.items()
        }
        self.send_seconds = Histogram(
            "cuiban_send_seconds",
            "How long a provider took to take or refuse a notice.",
            ("channel", "provider"),
            buckets=SEND_BUCKETS,
            registry=self.registry,
        )
        self.lateness_seconds = Histogram(
            "cuiban_send_lateness_seconds",
            "sent_at − not_before: how late a notice left after it was allowed to.",
            ("channel", "kind"),
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        # prometheus_client checks and looks up the labels on every .labels() call: a
        # send's outcome (three series) cost more than its database write. Children kept.
        self._children: dict[tuple[str, tuple[tuple[str, str], ...]], Counter] = {}
        self._outcome: dict[tuple[str, str, str, str], tuple[Counter, Histogram]] = {}
        self._lateness: dict[tuple[str, str], Histogram] = {}  # made on a first send that left

    def inc(self, name: str, by: float = 1, **labels: str) -> None:
        """Add ``by`` to the counter ``name`` (one of :data:`COUNTERS`) with its labels."""
        if not labels:
            self._counters[name].inc(by)
            return
        key = (name, tuple(labels.items()))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._counters[name].labels(**labels)
        child.inc(by)

    def value(self, name: str, **labels: str) -> float:
        """A counter's current value (summed over the labels not given)."""
        wanted = labels.items()
        total = 0.0
        for metric in self.registry.collect():
            for sample in metric.samples:
                if sample.name == name and wanted <= sample.labels.items():
                    total += sample.value
        return total

    def notice_outcome(
        self,
        *,
        channel: str,
        provider: str,
        kind: str,
        status: str,
        seconds: float,
        late_by: float | None,
    ) -> None:
        """One send's outcome: its counters, how long the provider took and, once it left,
        how late (``late_by``: sent_at − not_before)."""
        key = (channel, provider, kind, status)
        series = self._outcome.get(key)
        if series is None:
            series = self._outcome[key] = (
                self._counters["cuiban_notices_total"].labels(
                    channel=channel, provider=provider, kind=kind, status=status
                ),
                self.send_seconds.labels(channel=channel, provider=provider),
            )
        total, send_seconds = series
        total.inc()
        send_seconds.observe(max(0.0, seconds))
        if late_by is not None:
            lateness = self._lateness.get((channel, kind))
            if lateness is None:
                lateness = self._lateness[channel, kind] = self.lateness_seconds.labels(
                    channel=channel, kind=kind
                )
            lateness.observe(max(0.0, late_by))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
