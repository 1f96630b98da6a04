"""The demo's past month: every event inside the month, every case closed in it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.demo.history import HISTORY_CASES, history_events, history_month
from hub.store.calendars import load_calendar

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = load_calendar(Path("/nonexistent-cuiban-data"), ())


def test_the_history_month_is_the_one_before_today() -> None:
    """On 29 November the demo's past month is October; on 2 March it is February."""
    assert history_month(date(2026, 11, 29)) == date(2026, 10, 1)
    assert history_month(date(2026, 3, 2)) == date(2026, 2, 1)
    assert history_month(date(2026, 1, 15)) == date(2025, 12, 1)


@settings(max_examples=40, deadline=None)
@given(st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 12, 1)))
def test_every_event_happens_within_the_month(day: date) -> None:
    """Accepted, decided and closed inside the month, in order, most cases kept."""
    first = day.replace(day=1)
    events = history_events(first, CALENDAR, TZ)
    instants = [e["occurred_at"] for e in events]
    assert all(i[:7] == f"{first:%Y-%m}" for i in instants)
    accepted = {e["case_no"] for e in events if e["type"] == "case.accepted"}
    closed = {e["case_no"] for e in events if e["type"] == "case.closed"}
    assert accepted == closed
    assert len(accepted) >= HISTORY_CASES * 3 // 4
    for case_no in accepted:
        mine = [e["occurred_at"] for e in events if e["case_no"] == case_no]
        assert mine == sorted(mine)
