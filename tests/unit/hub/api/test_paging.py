"""List endpoints' query parameters: page sizes, choices and opaque cursors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.api import paging
from hub.api.problems import Problem

FORGED = ["", "!!!", "bm90LWEtY3Vyc29y", "bTo5OTk5OTk5OTk5OTk5OTk5OTk5OTk"]


@given(st.text(max_size=40), st.integers(min_value=0, max_value=10**18 - 1))
def test_a_cursor_gives_back_the_key_it_holds(prefix: str, key: int) -> None:
    """What the API encodes, it decodes to the same key, for its own prefix only."""
    prefix = prefix.replace(":", "") or "m"
    cursor = paging.encode_cursor(prefix, key)
    assert paging.decode_id_cursor(prefix, cursor) == key
    with pytest.raises(Problem):
        paging.decode_cursor(prefix + "x", cursor)


@pytest.mark.parametrize("cursor", FORGED)
def test_a_forged_cursor_is_a_422_naming_the_cursor(cursor: str) -> None:
    """Garbage, another prefix or an oversized id: 422 with field ``cursor``."""
    with pytest.raises(Problem) as caught:
        paging.decode_id_cursor("m", cursor)
    assert caught.value.status == 422
    assert caught.value.errors == [{"field": "cursor", "message": "invalid"}]


@pytest.mark.parametrize("raw", ["1", "500"])
def test_a_page_size_from_1_to_the_maximum_is_taken(raw: str) -> None:
    """In range: that many rows, no error."""
    errors: paging.Errors = []
    assert paging.page_size({"limit": raw}, errors, default=50, maximum=500) == int(raw)
    paging.check(errors)


@pytest.mark.parametrize("raw", ["0", "501", "x", "-1"])
def test_a_page_size_outside_1_to_the_maximum_is_named(raw: str) -> None:
    """Out of range or not a number: the default is used and ``limit`` is named (422)."""
    errors: paging.Errors = []
    assert paging.page_size({"limit": raw}, errors, default=50, maximum=500) == 50
    with pytest.raises(Problem) as caught:
        paging.check(errors)
    assert caught.value.status == 422
    assert [e["field"] for e in errors] == ["limit"]


def test_a_choice_outside_the_allowed_values_lists_them() -> None:
    """``status=lost`` names the values it could have been."""
    errors: paging.Errors = []
    assert paging.choice({"status": "lost"}, "status", ["queued", "sent"], errors) == "lost"
    assert errors == [{"field": "status", "message": "must be one of: queued, sent"}]
    assert paging.choice({}, "status", ["queued"], []) is None


def test_a_page_has_a_next_cursor_only_when_a_row_is_left_over() -> None:
    """Of limit + 1 rows fetched, limit are shown and the cursor points after the last shown."""
    rows = [{"id": n} for n in (1, 2, 3)]
    full = paging.items_page(rows, 2, lambda r: {"n": r["id"]}, prefix="m", key=lambda r: r["id"])
    assert full["items"] == [{"n": 1}, {"n": 2}]
    assert paging.decode_id_cursor("m", full["next_cursor"]) == 2
    last = paging.items_page(rows, 3, lambda r: {"n": r["id"]}, prefix="m", key=lambda r: r["id"])
    assert last["next_cursor"] is None and len(last["items"]) == 3
