"""The metrics registry: labelled counters and the send histograms, without a server."""

from __future__ import annotations

import pytest

from hub.metrics import Metrics


def test_a_late_send_lands_in_the_lateness_buckets() -> None:
    """Five minutes late counts under 15 minutes and above a minute."""
    metrics = Metrics()
    metrics.notice_outcome(
        channel="sms",
        provider="aliyun",
        kind="node_overdue",
        status="sent",
        seconds=0.2,
        late_by=300.0,
    )
    text = metrics.render().decode()
    labels = 'channel="sms",kind="node_overdue"'
    assert f'cuiban_send_lateness_seconds_bucket{{{labels},le="60.0"}} 0.0' in text
    assert f'cuiban_send_lateness_seconds_bucket{{{labels},le="300.0"}} 1.0' in text
    assert f"cuiban_send_lateness_seconds_sum{{{labels}}} 300.0" in text
    assert metrics.value("cuiban_notices_total", status="sent") == 1


def test_a_failed_send_has_no_lateness() -> None:
    """Only a notice that left has a lateness; a failure still counts its time and status."""
    metrics = Metrics()
    metrics.notice_outcome(
        channel="sms", provider="aliyun", kind="urge", status="failed", seconds=10.0, late_by=None
    )
    assert "cuiban_send_lateness_seconds_count" not in metrics.render().decode()
    assert metrics.value("cuiban_notices_total", channel="sms", status="failed") == 1


def test_two_hubs_never_mix_their_numbers() -> None:
    """Each Metrics has its own registry."""
    one, two = Metrics(), Metrics()
    one.inc("cuiban_events_accepted_total", 3)
    assert (
        one.value("cuiban_events_accepted_total"),
        two.value("cuiban_events_accepted_total"),
    ) == (3, 0)


def test_a_labelled_counter_needs_its_labels() -> None:
    """Counting a send without saying which channel is a bug, not a silent zero."""
    with pytest.raises(ValueError, match="label"):
        Metrics().inc("cuiban_notices_sent_total")
