"""No empty slots: optional facts are worded whole, on every channel."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.render import EXAMPLES, TEMPLATE_CHANNELS, compose, render
from core.notices import NoticeKind

PICKUP_BARE = {**EXAMPLES[NoticeKind.PICKUP_NOTICE], "hours": "", "documents": ""}


def test_a_pickup_notice_without_hours_or_documents_reads_naturally() -> None:
    """No "请于到…领取，请携带。": the SMS leaves the missing parts out of the sentence."""
    assert render(NoticeKind.PICKUP_NOTICE, "sms", PICKUP_BARE) == (
        "您的食品经营许可（NJ20250312-0042）已办结，请在工作时间内到市民中心B区3号窗口领取。"
        "https://zw.example.gov.cn/wap/c/AbC123"
    )
    with_both = render(NoticeKind.PICKUP_NOTICE, "sms", EXAMPLES[NoticeKind.PICKUP_NOTICE])
    assert "请于工作日9:00-17:00到市民中心B区3号窗口领取，请携带身份证原件。" in with_both


@pytest.mark.parametrize("channel", ["email.txt", "wecom", "wap", "email.html"])
def test_pickup_lines_for_absent_fields_are_left_out(channel: str) -> None:
    """E-mail, WeCom and the inbox show no "领取时间：" or "请携带：" line with nothing after it."""
    text = render(NoticeKind.PICKUP_NOTICE, channel, PICKUP_BARE)
    assert "领取时间" not in text and "请携带" not in text
    assert "领取地点" in text


def test_the_provider_gets_the_phrases_as_template_parameters() -> None:
    """Aliyun/Tencent parameters are the whole phrases, so the registered text needs no if."""
    message = compose(
        message_id="m", kind="pickup_notice", channel="sms", recipient="13800000000",
        context=PICKUP_BARE,
    )  # fmt: skip
    assert message.params["pickup_time"] == "在工作时间内"
    assert message.params["pickup_bring"] == ""


@pytest.mark.parametrize(
    "kind",
    [
        NoticeKind.CASE_ACCEPTED,
        NoticeKind.STATUS_REPLY,
        NoticeKind.CASE_RESUMED,
        NoticeKind.GREEN_CHANNEL,
    ],
)
def test_no_promise_before_a_missing_date(kind: NoticeKind) -> None:
    """A date not yet known is said to be pending: never "承诺前办结" or an empty field."""
    context = {**EXAMPLES[kind], "due_date": ""}
    for channel in TEMPLATE_CHANNELS:
        text = render(kind, channel, context)
        assert "承诺前" not in text and "须于前" not in text
        assert not any(line.rstrip().endswith(("：", ":")) for line in text.splitlines())
    assert "承诺办结日期待定" in render(kind, "sms", context)


@given(
    hours=st.sampled_from(["", "工作日9-17时"]),
    documents=st.sampled_from(["", "身份证", "身份证、营业执照"]),
    due_date=st.sampled_from(["", "2026-10-09"]),
)
def test_no_channel_shows_an_empty_slot(hours: str, documents: str, due_date: str) -> None:
    """Whatever is absent, no text has "于到", "携带。", "承诺前" or an empty bracket."""
    kinds = (
        NoticeKind.PICKUP_NOTICE,
        NoticeKind.STATUS_REPLY,
        NoticeKind.CASE_RESUMED,
        NoticeKind.CASE_ACCEPTED,
    )
    for kind in kinds:
        context = {**EXAMPLES[kind], "hours": hours, "documents": documents, "due_date": due_date}
        for channel in TEMPLATE_CHANNELS:
            text = render(kind, channel, context)
            for hole in ("于到", "携带。", "携带：\n", "承诺前", "（）", "，。"):
                assert hole not in text, (kind, channel, text)


@pytest.mark.parametrize(
    "kind", [NoticeKind.CASE_ACCEPTED, NoticeKind.STATUS_REPLY, NoticeKind.CASE_RESUMED]
)
def test_a_provisional_date_says_so_on_every_channel(kind: NoticeKind) -> None:
    """A date on the provisional next year reads "（暂按法定节假日推算）" wherever it is shown."""
    context = {**EXAMPLES[kind], "due_date": "2027-01-18", "provisional": "1"}
    for channel in TEMPLATE_CHANNELS:
        text = render(kind, channel, context)
        assert "2027-01-18" in text and "暂按法定节假日推算" in text, (channel, text)
    assert "承诺2027-01-18前办结（暂按法定节假日推算）" in render(kind, "sms", context)
    official = {**context, "provisional": ""}
    assert "暂按" not in render(kind, "sms", official)


KINDS_NAMING_A_MATTER = [kind for kind, example in EXAMPLES.items() if "matter" in example]


@pytest.mark.parametrize("kind", KINDS_NAMING_A_MATTER)
def test_a_case_known_only_from_a_node_says_its_matter_is_pending(kind: NoticeKind) -> None:
    """node.started before case.accepted: no "NJ…（）" or "事项：" with nothing after it."""
    context = {**EXAMPLES[kind], "matter": ""}
    for channel in TEMPLATE_CHANNELS:
        text = render(kind, channel, context)
        assert "（）" not in text and "“”" not in text, (kind, channel, text)
        assert not re.search(r"(事项|keyword\d+)[：:][ \t]*$", text, re.MULTILINE), text
    if EXAMPLES[kind]["matter"] in render(kind, "sms", EXAMPLES[kind]):
        assert "事项名称待补充" in render(kind, "sms", context)
