"""The message log as a non-admin role sees it: no secret that signs anyone in, masked mobiles."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.api.messages import REDACTED, redacted
from hub.notices.links import TOKEN_IN_TEXT, LinkSigner
from hub.signing import Keyring

LINKS = LinkSigner(keys=Keyring.from_secret(b"link-secret-of-the-centre"))
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FULL_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def item(kind: str, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "channel": "sms",
        "recipient": "13812345678",
        "body": body,
        "subject": None,
        "link": "http://127.0.0.1:8080/wap/c/x",
        "note": None,
        "error": None,
        "attempt_log": [{"attempt": 1, "error": "13812345678: 空号"}],
        **extra,
    }


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
subjects = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True) | st.text(min_size=1, max_size=8)


@given(
    before=texts,
    after=texts,
    kind=st.sampled_from(["c", "i"]),
    subject=subjects,
    mobile=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    notice=st.sampled_from(["case_suspended", "node_overdue", "pickup_notice", "urge"]),
)
def test_no_link_token_or_full_mobile_survives(
    before: str, after: str, kind: str, subject: str, mobile: str, notice: str
) -> None:
    """Whatever surrounds them, signed links and mobiles in a body are cut or masked."""
    token = LINKS.sign(kind, subject, now=NOW)  # type: ignore[arg-type]
    path = "c" if kind == "c" else "inbox"
    body = f"{before} {mobile} http://h/wap/{path}/{token}{after} {token}"
    seen = redacted(item(notice, body))
    assert token not in str(seen)
    assert not TOKEN_IN_TEXT.search(seen["body"])
    assert mobile not in str(seen)
    assert seen["link"] is None and seen["recipient"] == "138****5678"


@given(code=st.from_regex(r"[0-9]{6}", fullmatch=True))
def test_code_and_query_code_messages_are_redacted_whole(code: str) -> None:
    """A verification code or an acceptance SMS (query code) shows no part of its text."""
    for kind, body in [
        ("verification_code", f"您的办件查询验证码为{code}，5分钟内有效，请勿告诉他人。"),
        ("case_accepted", f"您的申请已受理，受理号A-1，查询码{code}，承诺2026-03-25前办结。"),
    ]:
        seen = redacted(item(kind, body))
        assert seen["body"] == REDACTED
        assert code not in str(seen)


def test_a_body_without_secrets_is_kept() -> None:
    """A reminder with no link and no mobile reads the same for a supervisor."""
    body = "【催办】A-1（食品经营许可）审查环节已超期1个工作日。"
    assert redacted(item("node_overdue", body))["body"] == body
