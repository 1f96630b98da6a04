"""Event hashing: orjson's canonical form equals the stored one, so re-sent events still match."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core.events import EVENT_ADAPTER
from hub.store.db import encode_json
from hub.store.ingest import IncomingEvent

EVENT = {
    "event_id": "E-1",
    "type": "case.closed",
    "occurred_at": "2026-03-02T10:00:00+08:00",
    "case_no": "C-1",
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_a_body_stored_before_orjson_hashes_the_same(extra: dict[str, Any]) -> None:
    """For any JSON without floats (events carry none), the new hash equals the stored one."""
    item = IncomingEvent(raw={**EVENT, **extra}, event=EVENT_ADAPTER.validate_python(EVENT))
    assert item.body_hash == item.legacy_body_hash


def test_a_body_orjson_cannot_encode_falls_back_to_the_standard_form() -> None:
    """An integer beyond 64 bits is hashed and stored the standard library's way, not refused."""
    raw = {**EVENT, "big": 2**70}
    item = IncomingEvent(raw=raw, event=EVENT_ADAPTER.validate_python(EVENT))
    assert item.body_hash == item.legacy_body_hash
    assert encode_json(raw).endswith('"big":1180591620717411303424}')


def test_key_order_does_not_change_the_hash() -> None:
    """The same body with its keys in another order is the same event."""
    forward = IncomingEvent(raw=EVENT, event=EVENT_ADAPTER.validate_python(EVENT))
    backward = dict(reversed(list(EVENT.items())))
    assert forward.body_hash == IncomingEvent(raw=backward, event=forward.event).body_hash
