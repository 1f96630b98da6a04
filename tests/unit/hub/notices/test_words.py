"""One set of words and masks for every page, reply and webhook."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.events import is_mobile, mobile_digits, normalize_mobile
from core.notices import MessageStatus, NoticeKind
from hub.notices.words import (
    COMPOUND_SURNAMES,
    DUE_PENDING,
    NOTICE_WORDS,
    SEND_WORDS,
    due_words,
    limit_words,
    mask_address,
    mask_mobile,
    mask_mobiles_in,
    mask_name,
    notice_words,
    status_words,
    suspension_reason,
)

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


def test_a_decided_case_reads_the_same_everywhere() -> None:
    """The status the CX reply, the WAP page and the supervision table show is one word."""
    assert status_words("decided") == "已作出决定"
    assert status_words("something_new") == "something_new"


def test_units_say_which_days_count() -> None:
    """Calendar days read 个自然日 next to 个工作日; a missing number shows nothing."""
    assert limit_words(20, "working_days") == "20个工作日"
    assert limit_words(30, "calendar_days") == "30个自然日"
    assert limit_words(4, "hours") == "4小时"
    assert limit_words(None, "hours") == ""


def test_an_unknown_suspension_reason_shows_as_sent() -> None:
    """A reason code we have no words for is shown as the approval system sent it."""
    assert suspension_reason("hearing") == "听证"
    assert suspension_reason("其他原因") == "其他原因"


def test_every_message_status_has_words() -> None:
    """The applicant's page has words for every status a message can be in."""
    assert set(SEND_WORDS) == set(MessageStatus)


@given(mobiles)
def test_a_mobile_shows_its_first_three_and_last_four_digits(number: str) -> None:
    """138****5678: the same mask as a value and inside text."""
    masked = mask_mobile(number)
    assert masked == number[:3] + "****" + number[-4:]
    assert mask_mobiles_in(f"发送至{number}成功") == f"发送至{masked}成功"
    assert mask_address("sms", number) == masked


@given(st.text(max_size=10))
def test_a_short_or_odd_number_keeps_two_characters_at_most(text: str) -> None:
    """Nothing that is not a mobile number leaks more than its last two characters."""
    masked = mask_mobile(text)
    assert len(masked) == len(text)
    if len(text) < 11:
        assert masked[:-2] == "*" * max(len(text) - 2, 0)


def test_a_longer_digit_run_inside_text_is_not_a_mobile() -> None:
    """An id that merely contains eleven digits is left alone in free text."""
    assert mask_mobiles_in("id 213812345678999") == "id 213812345678999"


def test_names_keep_the_family_name() -> None:
    """张* / 欧阳*: only the family name stays, a compound one whole; the length is hidden."""
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰子") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳*"
    assert mask_name("司马光") == "司马*"
    assert mask_name("诸葛亮") == "诸葛*"
    assert mask_name("上官婉儿") == "上官*"
    assert mask_name("欧阳") == "欧*"  # a two-character name is 姓 + 名
    assert mask_name("李") == "李"


_HANZI = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@given(
    family=st.sampled_from(sorted(COMPOUND_SURNAMES)) | st.sampled_from(list("张王李赵欧司诸")),
    given_name=st.text(alphabet=_HANZI, min_size=1, max_size=6),
)
def test_a_masked_name_shows_the_family_name_and_nothing_of_the_given_name(
    family: str, given_name: str
) -> None:
    """Whatever the name, the mask is its family name and one star: no given-name character,
    no hint of its length."""
    name = family + given_name
    assume(len(family) == 2 or name[:2] not in COMPOUND_SURNAMES)  # 欧+阳… is 欧阳
    masked = mask_name(name)
    assert masked.endswith("*") and masked.count("*") == 1
    shown = masked[:-1]
    assert name.startswith(shown)
    if len(family) == 2 and len(name) > 2:
        assert shown == family
    else:
        assert len(shown) == 1
    assert mask_name(family + given_name + given_name) == masked


@given(st.text(max_size=30))
def test_any_text_as_a_name_keeps_at_most_two_characters(name: str) -> None:
    """Odd input (Latin, markup, spaces) never shows more than two of its characters."""
    masked = mask_name(name)
    if len(name.strip()) > 1:
        assert masked.endswith("*") and len(masked) <= 3
        assert name.strip().startswith(masked[:-1])


def test_addresses_are_recognisable_not_whole() -> None:
    """E-mail keeps its domain, other ids their ends."""
    assert mask_address("email", "zhang@example.cn") == "z***@example.cn"
    assert mask_address("wecom", "zhangsan01") == "zh***01"
    assert mask_address("wecom", "abc") == "***"
    assert mask_address("sms", None) is None


@given(mobiles, st.sampled_from(["", "+86", "0086"]), st.sampled_from(["", " ", "-"]))
def test_one_rule_reads_every_written_form_of_a_number(number: str, prefix: str, gap: str) -> None:
    """+86, 0086, spaces and dashes all come down to the same 11 digits."""
    written = prefix + number[:3] + gap + number[3:7] + gap + number[7:]
    assert mobile_digits(written) == number
    assert normalize_mobile(written) == number
    assert is_mobile(written)


@pytest.mark.parametrize("text", ["12812345678", "1381234567", "138123456789", "abc", ""])
def test_what_is_not_a_mainland_mobile_is_refused(text: str) -> None:
    """The broadcast lists and the events refuse the same numbers (1[3-9] and 11 digits)."""
    assert not is_mobile(text)
    with pytest.raises(ValueError, match="mainland mobile"):
        normalize_mobile(text)


def test_every_notice_kind_has_a_chinese_name() -> None:
    """Inbox and timeline entries are labelled in Chinese, never by a code like monthly_report."""
    for kind in NoticeKind:
        assert kind.value in NOTICE_WORDS, kind
        assert not notice_words(kind.value).isascii()
    assert notice_words("some_future_kind") == "通知"


SHANGHAI = ZoneInfo("Asia/Shanghai")
instants = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
units = st.sampled_from(["hours", "working_days", "calendar_days", None, "weeks"])


def test_an_hours_deadline_reads_its_local_day_and_time() -> None:
    """06:10 UTC is 14:10 in Shanghai; 01:30 UTC the next day is 09:30 on 25 September."""
    today = datetime(2026, 9, 24, 6, 10, tzinfo=UTC)
    assert due_words("hours", date(2026, 9, 24), today, SHANGHAI) == "9月24日14:10"
    tomorrow = datetime(2026, 9, 25, 1, 30, tzinfo=UTC)
    assert due_words("hours", date(2026, 9, 25), tomorrow, SHANGHAI) == "9月25日09:30"
    late = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)  # past midnight in Shanghai: next year
    assert due_words("hours", date(2027, 1, 1), late, SHANGHAI) == "1月1日00:05"


def test_a_day_deadline_keeps_its_date() -> None:
    end_of_day = datetime(2026, 9, 24, 15, 59, 59, tzinfo=UTC)
    assert due_words("working_days", date(2026, 9, 24), end_of_day, SHANGHAI) == "2026-09-24"
    assert due_words("calendar_days", date(2026, 9, 24), None, SHANGHAI) == "2026-09-24"


@given(units, st.one_of(st.none(), instants), st.booleans())
def test_a_deadline_is_never_an_empty_slot(
    unit: str | None, due_at: datetime | None, with_date: bool
) -> None:
    """Whatever is known: hours with their instant say day and time (the instant's own, in
    Shanghai); otherwise the date, the instant's local date, or that it is pending."""
    due_date = due_at.astimezone(SHANGHAI).date() if due_at and with_date else None
    if with_date and due_at is None:
        due_date = date(2026, 9, 24)
    words = due_words(unit, due_date, due_at, SHANGHAI)
    assert words
    if unit == "hours" and due_at is not None:
        match = re.fullmatch(r"(\d{1,2})月(\d{1,2})日(\d{2}):(\d{2})", words)
        assert match is not None
        local = due_at.astimezone(SHANGHAI)
        month, day, hour, minute = map(int, match.groups())
        assert (month, day, hour, minute) == (local.month, local.day, local.hour, local.minute)
    elif due_date is not None:
        assert words == due_date.isoformat()
    elif due_at is not None:
        assert words == due_at.astimezone(SHANGHAI).date().isoformat()
    else:
        assert words == DUE_PENDING
