"""A message's personal parts: one sealed value as written, opened as before, older rows too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.notices.sealing import (
    PERSONAL_KEYS,
    content_hash,
    opened,
    parts,
    recipient_of,
    seal_message,
    seal_rendering,
)
from hub.privacy.fields import (
    MESSAGES_BODY,
    MESSAGES_FALLBACKS,
    MESSAGES_PERSONAL,
    MESSAGES_RECIPIENT,
    address_index,
    mobile_index,
)
from hub.privacy.vault import DataKey, SealedValueError, Vault

VAULT = Vault(DataKey.from_hex("11" * 32))
MOBILE = "13812345678"


def stored(**overrides: Any) -> dict[str, Any]:
    """The row as PostgreSQL gives it back: jsonb columns decoded."""
    fields: dict[str, Any] = {
        "channel": "sms",
        "recipient": MOBILE,
        "body": "您的验证码为123456，5分钟内有效。",
        "html": None,
        "fallbacks": [{"channel": "email", "recipient": "zhang@example.cn"}],
        "context": {"code": "123456", "minutes": "5", "case_no": "C-1"},
        "params": {"code": "123456", "minutes": "5"},
    } | overrides
    sealed = seal_message(VAULT, **fields)
    return {
        "id": 1,
        "channel": fields["channel"],
        "recipient": None,
        "recipient_index": sealed.recipient_index,
        "body": None,
        "html": None,
        "fallbacks": [],
        "context": json.loads(sealed.context),
        "params": json.loads(sealed.params),
        "personal": None,
        "sealed": sealed.sealed,
    }


def column_by_column() -> dict[str, Any]:
    """A row as migration 0029 stored it: each personal column sealed on its own."""
    return {
        "id": 2,
        "channel": "sms",
        "recipient": VAULT.seal(MOBILE, field=MESSAGES_RECIPIENT),
        "recipient_index": address_index(VAULT, "sms", MOBILE),
        "body": VAULT.seal("您的办件已受理，查询码888888", field=MESSAGES_BODY),
        "html": None,
        "fallbacks": VAULT.seal('[{"channel":"wap","recipient":"p-1"}]', field=MESSAGES_FALLBACKS),
        "context": {"case_no": "C-1"},
        "params": {},
        "personal": VAULT.seal('{"context":{"query_code":"888888"}}', field=MESSAGES_PERSONAL),
        "sealed": None,
    }


def test_nothing_personal_is_stored_in_clear() -> None:
    """Number, body, fallback address and the code appear nowhere in the stored row."""
    row = stored()
    text = json.dumps({k: v for k, v in row.items() if k != "recipient_index"})
    for secret in (MOBILE, "123456", "zhang@example.cn", "验证码"):
        assert secret not in text
    assert row["context"] == {"minutes": "5", "case_no": "C-1"}  # what SQL still reads
    assert row["params"] == {"minutes": "5"}


def test_opened_gives_back_what_was_sealed() -> None:
    """The dispatcher and the API see the row exactly as it was queued."""
    row = opened(VAULT, stored())
    assert row["recipient"] == MOBILE
    assert row["body"] == "您的验证码为123456，5分钟内有效。"
    assert row["fallbacks"] == [{"channel": "email", "recipient": "zhang@example.cn"}]
    assert row["context"] == {"code": "123456", "minutes": "5", "case_no": "C-1"}
    assert row["params"] == {"code": "123456", "minutes": "5"}
    assert opened(VAULT, row) == row  # opening an opened row changes nothing


def test_a_row_written_before_sealing_reads_as_it_was() -> None:
    """Clear recipient, body and fallbacks, no index or personal: passed through unchanged."""
    legacy = {
        "recipient": "+86" + MOBILE,
        "body": "您的办件已受理",
        "html": None,
        "fallbacks": [{"channel": "wap", "recipient": "p-1"}],
        "context": {"query_code": "888888"},
        "params": {},
        "personal": None,
        "recipient_index": None,
    }
    assert opened(VAULT, legacy) == legacy


def test_one_seal_holds_every_personal_part() -> None:
    """The row's one sealed value is all a reader needs: recipient, words, fallbacks, code."""
    row = stored(html="<p>验证码</p>")
    only_sealed = {"sealed": row["sealed"], "context": row["context"], "params": row["params"]}
    back = opened(VAULT, only_sealed)
    assert back["recipient"] == MOBILE and back["html"] == "<p>验证码</p>"
    assert back["fallbacks"] == [{"channel": "email", "recipient": "zhang@example.cn"}]
    assert back["context"]["code"] == "123456"
    assert recipient_of(VAULT, row) == MOBILE


def test_a_row_sealed_column_by_column_opens_the_same_way() -> None:
    """Rows of migration 0029 (four sealed columns) read as they did."""
    back = opened(VAULT, column_by_column())
    assert back["recipient"] == MOBILE and back["body"] == "您的办件已受理，查询码888888"
    assert back["fallbacks"] == [{"channel": "wap", "recipient": "p-1"}]
    assert back["context"] == {"case_no": "C-1", "query_code": "888888"}
    assert back["personal"] is None and opened(VAULT, back) == back


def test_a_narrowed_rendering_keeps_the_recipient_and_fallbacks_of_either_form() -> None:
    """The send-time re-check writes new words; the address and fallbacks stay what they were."""
    for row in (stored(), column_by_column()):
        sealed, context, _params = seal_rendering(
            VAULT, row, body="新的正文", html=None, context={"case_no": "C-2"}, params={}
        )
        was = parts(VAULT, row)
        now = parts(VAULT, {"sealed": sealed})
        assert (now.recipient, now.fallbacks) == (was.recipient, was.fallbacks)
        assert now.body == "新的正文" and json.loads(context) == {"case_no": "C-2"}


def test_a_sealed_value_from_another_column_does_not_open() -> None:
    """The one value is bound to messages.sealed: a body pasted into it is refused."""
    row = stored()
    row["sealed"] = VAULT.seal('{"recipient":"13900000000"}', field=MESSAGES_BODY)
    with pytest.raises(SealedValueError):
        opened(VAULT, row)


def test_empty_fallbacks_and_no_secrets_leave_nothing_else_stored() -> None:
    """A reminder with nothing personal in its variables stores '[]' and no personal value."""
    row = stored(fallbacks=[], context={"case_no": "C-1"}, params={"case_no": "C-1"})
    assert row["fallbacks"] == [] and row["personal"] is None
    back = opened(VAULT, row)
    assert back["fallbacks"] == [] and back["context"] == {"case_no": "C-1"}


def test_the_index_is_the_same_however_the_address_is_written() -> None:
    """+86, spaces and dashes for a mobile, case and spaces for an e-mail: one index each."""
    assert address_index(VAULT, "sms", "+86 138-1234-5678") == mobile_index(VAULT, MOBILE)
    assert address_index(VAULT, "email", " Zhang@Example.CN ") == address_index(
        VAULT, "email", "zhang@example.cn"
    )
    assert address_index(VAULT, "sms", MOBILE) != address_index(VAULT, "sms", "13812345679")


def test_content_hash_is_over_the_clear_words() -> None:
    """Sealing does not change what the content hash proves (decision 0007)."""
    assert content_hash("主题", "正文") == content_hash("主题", "正文")
    assert content_hash(None, "正文") != content_hash("主题", "正文")


@given(
    recipient=st.text(min_size=1, max_size=40),
    body=st.text(max_size=200),
    context=st.dictionaries(
        st.sampled_from(sorted(PERSONAL_KEYS | {"case_no", "link", "matter"})),
        st.text(max_size=20),
    ),
)
def test_any_message_opens_to_what_was_sealed(
    recipient: str, body: str, context: dict[str, str]
) -> None:
    """Whatever the text, sealing then opening is the identity; no personal key stays plain."""
    row = stored(recipient=recipient, body=body, context=context, params=context)
    assert not PERSONAL_KEYS & row["context"].keys()
    back = opened(VAULT, row)
    assert (back["recipient"], back["body"]) == (recipient, body)
    assert back["context"] == context and back["params"] == context
