"""De-identified forms: masks of the applicant, and texts that no longer carry the clear ones."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from hub.privacy.deidentify import masked_applicant, replacements, scrub, scrub_json

ZHANG = {
    "name": "张三丰",
    "mobile": "+86 138-1234-5678",
    "email": "zhangsf@example.cn",
    "wechat_openid": "oAbCdEfGh123",
}


def test_the_applicant_keeps_masked_name_mobile_and_email_only() -> None:
    """张* / 138****5678 / z***@…; the openid goes."""
    assert masked_applicant(ZHANG) == {
        "name": "张*",
        "mobile": "138****5678",
        "email": "z***@example.cn",
    }
    assert masked_applicant({"name": "欧阳娜娜"}) == {"name": "欧阳*"}
    assert masked_applicant({}) == {}


def test_texts_lose_every_clear_form_of_the_applicant() -> None:
    """Name, number (as typed and as digits), e-mail and openid are replaced wherever they sit."""
    known = replacements(ZHANG)
    text = "张三丰（13812345678，+86 138-1234-5678）zhangsf@example.cn oAbCdEfGh123 另13900001111"
    assert scrub(text, known) == (
        "张*（138****5678，138****5678）z***@example.cn *** 另139****1111"
    )
    nested = {"applicant": {"name": "张三丰"}, "list": ["13812345678", 3]}
    assert scrub_json(nested, known) == {"applicant": {"name": "张*"}, "list": ["138****5678", 3]}


@given(
    st.text(alphabet="张三丰的电话是13812345678，。abc@ ", max_size=60),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
@example("111111113", "111111113")  # 13111111113 overlaps itself inside the run of digits
def test_no_mainland_mobile_survives_a_scrub(prefix: str, tail: str) -> None:
    """Whatever surrounds it, a mobile number inside a text comes out masked."""
    number = "13" + tail
    out = scrub(prefix + number + prefix, replacements({"name": "张三丰", "mobile": number}))
    assert number not in out
    assert "张三丰" not in out
