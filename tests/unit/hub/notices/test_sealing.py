"""A message's personal fields: sealed as written, opened as before, old clear rows as they are."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.notices.sealing import PERSONAL_KEYS, content_hash, opened, seal_message
from hub.privacy.fields import address_index, mobile_index
from hub.privacy.vault import DataKey, Vault

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
        "recipient": sealed.recipient,
        "recipient_index": sealed.recipient_index,
        "body": sealed.body,
        "html": sealed.html,
        "fallbacks": json.loads(sealed.fallbacks),
        "context": json.loads(sealed.context),
        "params": json.loads(sealed.params),
        "personal": sealed.personal,
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


def test_empty_fallbacks_and_no_secrets_cost_no_seal() -> None:
    """A reminder with nothing personal in its variables stores '[]' and no personal value."""
    row = stored(fallbacks=[], context={"case_no": "C-1"}, params={"case_no": "C-1"})
    assert row["fallbacks"] == [] and row["personal"] is None


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
