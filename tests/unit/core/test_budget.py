"""The daily reminder-SMS budget: never past the limit, the most pressing kept — properties."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from core.budget import PRESSING_FIRST, URGE_RESERVE, Claim, over_budget
from core.notices import NoticeKind

DAY = date(2026, 9, 24)


def test_the_last_sms_of_the_day_goes_to_the_overdue_notice_not_the_due_soon() -> None:
    """Nine sent, two ask at once: the overdue one takes the tenth SMS, the due-soon one moves
    (the last two of twelve are kept for 催办)."""
    claims = [
        Claim(person_id="r2", day=DAY, kind=NoticeKind.NODE_DUE_SOON),
        Claim(person_id="r2", day=DAY, kind=NoticeKind.NODE_OVERDUE),
    ]
    assert over_budget(claims, {("r2", DAY): 9}, 12) == {0}


def test_the_last_two_sms_of_the_day_are_kept_for_urges() -> None:
    """Ten sent: a due-soon reminder moves, two 催办 still reach the phone, a third does not."""
    reminder = Claim(person_id="r2", day=DAY, kind=NoticeKind.NODE_DUE_SOON)
    urge = Claim(person_id="r2", day=DAY, kind=NoticeKind.URGE)
    assert over_budget([reminder, urge, urge, urge], {("r2", DAY): 10}, 12) == {0, 3}


def test_other_people_and_other_days_have_their_own_budget() -> None:
    """r2 is at the limit today; r3 and r2's next day are not."""
    tomorrow = date(2026, 9, 25)
    claims = [
        Claim(person_id="r2", day=DAY, kind=NoticeKind.NODE_DUE_SOON),
        Claim(person_id="r3", day=DAY, kind=NoticeKind.NODE_DUE_SOON),
        Claim(person_id="r2", day=tomorrow, kind=NoticeKind.NODE_DUE_SOON),
    ]
    assert over_budget(claims, {("r2", DAY): 12}, 12) == {0}


def test_a_limit_of_zero_means_no_budget() -> None:
    """``policy.max_reminder_sms = 0``: nothing is moved off SMS."""
    claims = [Claim(person_id="r2", day=DAY, kind=NoticeKind.URGE)] * 3
    assert over_budget(claims, {("r2", DAY): 40}, 0) == set()


claim_lists = st.lists(
    st.builds(
        Claim,
        person_id=st.sampled_from(["r1", "r2"]),
        day=st.sampled_from([DAY, date(2026, 9, 25)]),
        kind=st.sampled_from(PRESSING_FIRST),
    ),
    max_size=30,
)
sent_counts = st.dictionaries(
    st.tuples(st.sampled_from(["r1", "r2"]), st.sampled_from([DAY, date(2026, 9, 25)])),
    st.integers(min_value=0, max_value=20),
)


@given(claims=claim_lists, sent=sent_counts, limit=st.integers(min_value=1, max_value=15))
def test_kept_sms_never_pass_the_limit_and_fill_what_room_there_is(
    claims: list[Claim], sent: dict[tuple[str, date], int], limit: int
) -> None:
    """Per person and day: never past the limit (the hub's own reminders never past the limit
    less the 催办 reserve); a reminder is moved only when its room is used up."""
    moved = over_budget(claims, sent, limit)
    own_limit = max(1, limit - URGE_RESERVE)
    for desk in {(c.person_id, c.day) for c in claims}:
        before = sent.get(desk, 0)
        mine = [i for i, c in enumerate(claims) if (c.person_id, c.day) == desk]
        kept = [i for i in mine if i not in moved]
        kept_own = [i for i in kept if claims[i].kind is not NoticeKind.URGE]
        assert before + len(kept) <= max(limit, before)
        assert before + len(kept_own) <= max(own_limit, before)
        for i in set(mine) & moved:
            room = limit if claims[i].kind is NoticeKind.URGE else own_limit
            assert before + len(kept) >= room


@given(claims=claim_lists, sent=sent_counts, limit=st.integers(min_value=1, max_value=15))
def test_a_less_pressing_reminder_never_keeps_sms_that_a_more_pressing_one_lost(
    claims: list[Claim], sent: dict[tuple[str, date], int], limit: int
) -> None:
    """Within one person's day, every kept claim is at least as pressing as every moved one."""
    moved = over_budget(claims, sent, limit)
    rank = {kind: i for i, kind in enumerate(PRESSING_FIRST)}
    for i, kept in enumerate(claims):
        if i in moved:
            continue
        for j in moved:
            lost = claims[j]
            if (lost.person_id, lost.day) == (kept.person_id, kept.day):
                assert rank[kept.kind] <= rank[lost.kind]
