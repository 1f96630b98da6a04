"""Templates: every notice kind renders on every channel; escaping and strictness hold."""

from __future__ import annotations

import pytest

from channels.render import (
    EXAMPLES,
    TEMPLATE_CHANNELS,
    check_sms_templates,
    compose,
    render,
    render_notice,
    sms_params,
)
from core.errors import ConfigError, InputError
from core.notices import MANDATORY_KINDS, OPTIONAL_KINDS, ChannelKind, NoticeKind


def test_notice_kinds_are_the_contract_kinds_plus_our_own() -> None:
    """The enum holds the contract's kinds and our additions, split mandatory/optional."""
    assert {k.value for k in NoticeKind} == {
        "case_accepted", "green_channel", "node_due_soon", "node_overdue", "case_due_soon",
        "case_overdue", "urge", "case_suspended", "case_resumed", "pickup_notice",
        "evaluation_prompt", "daily_digest", "status_reply",
        "announcement", "verification_code", "appointment_slots", "appointment_reminder",
        "appointment_confirmed",
        "complaint", "deadline_unknown", "monthly_report", "project_digest",
        "poor_rating", "rectification_due_soon", "rectification_overdue", "rectification_reply",
        "promised_date_changed", "calendar_missing",
    }  # fmt: skip
    assert {
        "evaluation_prompt", "daily_digest", "announcement", "appointment_reminder",
        "project_digest",
    } == OPTIONAL_KINDS  # fmt: skip
    assert set(NoticeKind) == MANDATORY_KINDS | OPTIONAL_KINDS
    assert not MANDATORY_KINDS & OPTIONAL_KINDS


@pytest.mark.parametrize("channel", TEMPLATE_CHANNELS)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_renders_on_every_channel(kind: NoticeKind, channel: str) -> None:
    """Each templates/<kind>/<channel>.j2 exists and renders its example without leftovers."""
    text = render(kind, channel, EXAMPLES[kind])
    assert text.strip()
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_sms_is_one_line_and_at_most_two_segments_with_a_signature(kind: NoticeKind) -> None:
    """SMS bodies are short: one line, ≤ 2 segments under a ten-character signature."""
    message = compose(
        message_id="m", kind=kind, channel="sms", recipient="13800000000", context=EXAMPLES[kind]
    )
    assert "\n" not in message.body
    assert len(f"【某某市政务服务中心】{message.body}") <= 134


def test_case_accepted_sms_reads_as_specified() -> None:
    """The acceptance SMS carries matter, case number, query code, promised date and link."""
    assert render(NoticeKind.CASE_ACCEPTED, "sms", EXAMPLES[NoticeKind.CASE_ACCEPTED]) == (
        "您的食品经营许可申请已受理，受理号NJ20250312-0042，查询码738215，"
        "承诺2025-03-26前办结。查询：https://zw.example.gov.cn/wap/c/AbC123"
    )


def test_sms_params_follow_the_order_of_first_appearance() -> None:
    """Provider template parameters are the SMS variables in text order (Tencent's {1}, {2}…)."""
    assert sms_params(NoticeKind.CASE_ACCEPTED) == (
        "matter", "case_no", "query_code", "promise", "link",
    )  # fmt: skip


def test_html_email_escapes_input_and_text_does_not() -> None:
    """Markup in a variable is escaped in the HTML part and left alone in plain text."""
    context = {**EXAMPLES[NoticeKind.URGE], "note": "<script>alert(1)</script> & co"}
    html = render(NoticeKind.URGE, "email.html", context)
    text = render(NoticeKind.URGE, "email.txt", context)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<script>" not in html
    assert "<script>alert(1)</script> & co" in text


def test_missing_variable_is_an_input_error() -> None:
    """StrictUndefined: a context without query_code fails instead of sending a blank."""
    context = dict(EXAMPLES[NoticeKind.CASE_ACCEPTED])
    del context["query_code"]
    with pytest.raises(InputError, match="query_code"):
        render(NoticeKind.CASE_ACCEPTED, "sms", context)


def test_empty_optional_note_leaves_no_blank_lines() -> None:
    """An urge without a note renders without the note line or runs of blank lines."""
    text = render(NoticeKind.URGE, "wap", {**EXAMPLES[NoticeKind.URGE], "note": ""})
    assert "催办意见" not in text and "\n\n" not in text


def test_email_parts_split_subject_from_body() -> None:
    """email.txt's first line becomes the subject; HTML comes from email.html."""
    parts = render_notice(
        NoticeKind.PICKUP_NOTICE, ChannelKind.EMAIL, EXAMPLES[NoticeKind.PICKUP_NOTICE]
    )
    assert parts.subject == "领取通知：NJ20250312-0042（食品经营许可）"
    assert parts.body.startswith("您申请的“食品经营许可”已办结")
    assert parts.html is not None and "<table>" in parts.html


def test_wechat_template_renders_to_data_fields() -> None:
    """The wechat_mp template's key: value lines become the message params."""
    message = compose(
        message_id="m",
        kind=NoticeKind.CASE_ACCEPTED,
        channel=ChannelKind.WECHAT_MP,
        recipient="o-1",
        context=EXAMPLES[NoticeKind.CASE_ACCEPTED],
    )
    assert list(message.params) == ["first", "keyword1", "keyword2", "keyword3", "remark"]
    assert message.params["keyword2"] == "738215"


def test_compose_builds_a_complete_outbound_message() -> None:
    """compose fills kind, channel, body, params, link and case number from the context."""
    message = compose(
        message_id="m-9",
        kind="pickup_notice",
        channel="sms",
        recipient="13800000000",
        context=EXAMPLES[NoticeKind.PICKUP_NOTICE],
        person_id="p-1",
    )
    assert message.kind is NoticeKind.PICKUP_NOTICE and message.channel is ChannelKind.SMS
    assert message.case_no == "NJ20250312-0042"
    assert message.link == "https://zw.example.gov.cn/wap/c/AbC123"
    assert message.params["location"] == "市民中心B区3号窗口"
    assert message.mandatory


def test_outbound_message_rejects_an_empty_recipient() -> None:
    """A message without an address is refused when built."""
    with pytest.raises(InputError):
        compose(
            message_id="m",
            kind="urge",
            channel="wecom",
            recipient=" ",
            context=EXAMPLES[NoticeKind.URGE],
        )


def test_start_up_check_refuses_templates_that_can_exceed_the_maximum() -> None:
    """With long variables and a long signature, a one-segment maximum is refused by name."""
    worst = check_sms_templates(sign_name="某市政务服务中心", max_segments=4)
    assert set(worst) == set(NoticeKind)
    with pytest.raises(ConfigError, match=r"templates/case_accepted/sms\.j2"):
        check_sms_templates(sign_name="某市政务服务中心", max_segments=1)


CASE_KINDS = [k for k in NoticeKind if "case_no" in EXAMPLES[k]]


@pytest.mark.parametrize("kind", CASE_KINDS)
def test_a_notice_about_a_case_names_it_in_sms_subject_and_card_title(kind: NoticeKind) -> None:
    """SMS text, e-mail subject and WeCom card title carry the case number: reminders differ."""
    context = EXAMPLES[kind]
    assert "NJ20250312-0042" in render_notice(kind, ChannelKind.SMS, context).body
    assert "NJ20250312-0042" in (render_notice(kind, ChannelKind.EMAIL, context).subject or "")
    assert "NJ20250312-0042" in (render_notice(kind, ChannelKind.WECOM, context).subject or "")


def test_two_nodes_of_the_same_name_have_different_subjects() -> None:
    """Two "科室审查" reminders of different cases are told apart by their subjects."""
    first = {**EXAMPLES[NoticeKind.NODE_DUE_SOON], "node_name": "科室审查", "case_no": "HB1"}
    second = {**first, "case_no": "HB2"}
    subjects = {
        render_notice(NoticeKind.NODE_DUE_SOON, ChannelKind.EMAIL, c).subject
        for c in (first, second)
    }
    assert subjects == {"临期提醒：HB1“科室审查”环节", "临期提醒：HB2“科室审查”环节"}
