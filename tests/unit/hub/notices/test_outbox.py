"""A notice's context, params and fallbacks are stored as the same JSON values as before."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from hub.notices.sealing import _json

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Asia/Shanghai")])),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=3),
    ),
    max_leaves=10,
)


def _standard(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


@given(values)
def test_stored_json_values_are_the_standard_librarys(value: Any) -> None:
    """Whatever a context holds (dates, instants, huge integers, integer keys), the stored
    JSON reads back as the value the standard library wrote."""
    assert json.loads(_json(value)) == json.loads(_standard(value))


def test_instants_read_as_str_spells_them() -> None:
    """An instant in a context stays '2026-03-02 10:00:00+08:00', as before."""
    at = datetime(2026, 3, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert _json({"at": at, "day": date(2026, 3, 2)}) == (
        '{"at":"2026-03-02 10:00:00+08:00","day":"2026-03-02"}'
    )
