"""The quick checks of event fields say what the full rules say."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from core.events import _case_no, normalize_mobile

_odd = st.sampled_from([" ", "/", "\t", "\n", "\u3000", "\xa0", "\u200b", "\x00", "-", "+86"])
texts = st.lists(st.one_of(_odd, st.characters(), st.sampled_from("0123456789")), max_size=14)


def _old_case_no_rule(value: str) -> bool:
    return value.isprintable() and not any(c.isspace() or c == "/" for c in value)


def _answer(check: object, value: str) -> str:
    try:
        return f"ok {check(value)!r}"  # type: ignore[operator]
    except ValueError:
        return "refused"


@given(texts.map("".join))
def test_case_no_rule_is_printable_without_whitespace_or_slash(value: str) -> None:
    """A case number passes exactly when it is printable with no whitespace and no '/'."""
    assert (_answer(_case_no, value) != "refused") == _old_case_no_rule(value)


def _old_normalize(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not re.match(r"^1[3-9]\d{9}$", digits):
        raise ValueError("not a mainland mobile number")
    return digits


@given(st.one_of(texts.map("".join), st.from_regex(r"1[3-9]\d{9}\n?", fullmatch=True)))
def test_mobile_numbers_normalise_as_the_full_rule_does(value: str) -> None:
    """A plain 11-digit number is taken as is; anything else is rewritten or refused as before."""
    assert _answer(normalize_mobile, value) == _answer(_old_normalize, value)
