"""How rotation rewrites one stored value: text, whole jsonb, jsonb keys; which index rules."""

from __future__ import annotations

import orjson
import pytest

from core.errors import ConfigError
from hub.privacy.fields import SealedColumn
from hub.privacy.rotate import _Column, index_rule
from hub.privacy.vault import DataKey, Vault

OLD, NEW = DataKey.from_hex("11" * 32), DataKey.from_hex("22" * 32)
BEFORE, AFTER = Vault(OLD), Vault(NEW, [OLD])
TEXT = SealedColumn("inbound_sms", "mobile", "inbound_sms.mobile", ("id",), "mobile_index")
WHOLE = SealedColumn("messages", "fallbacks", "messages.fallbacks", ("id",))
KEYS = SealedColumn("events", "payload", "events.applicant", ("seq",), paths=("applicant",))


def _plan(column: SealedColumn, value_type: str) -> _Column:
    return _Column(column, {column.column: value_type, **dict.fromkeys(column.row_key, "bigint")})


def test_a_text_value_is_resealed_and_reindexed_once() -> None:
    """Old key → new key with the new index; a value under the new key is left alone."""
    plan = _plan(TEXT, "text")
    done = plan.rewrite(AFTER, BEFORE.seal("13812345678", field=TEXT.field), {})
    assert done is not None
    text, index = done
    assert Vault(NEW).open(text, field=TEXT.field) == "13812345678"
    assert index == Vault(NEW).blind_index("13812345678")
    assert plan.rewrite(AFTER, text, {}) is None
    clear = plan.rewrite(AFTER, "+86 138-1234-5678", {})  # stored before sealing
    assert clear is not None and clear[1] == Vault(NEW).blind_index("13812345678")


def test_a_whole_jsonb_value_is_sealed_as_a_json_string_and_empty_ones_stay() -> None:
    plan = _plan(WHOLE, "jsonb")
    legacy = orjson.dumps([{"channel": "sms", "recipient": "13812345678"}]).decode()
    done = plan.rewrite(AFTER, legacy, {})
    assert done is not None
    sealed = orjson.loads(done[0])
    assert orjson.loads(Vault(NEW).open(sealed, field=WHOLE.field)) == orjson.loads(legacy)
    assert plan.rewrite(AFTER, "[]", {}) is None
    old = orjson.dumps(BEFORE.seal(legacy, field=WHOLE.field)).decode()
    again = plan.rewrite(AFTER, old, {})
    assert again is not None and Vault(NEW).open(orjson.loads(again[0]), field=WHOLE.field)


def test_keys_inside_a_jsonb_object_are_resealed_and_the_rest_kept() -> None:
    plan = _plan(KEYS, "jsonb")
    applicant = {"name": "张三丰", "mobile": "13812345678"}
    stored = {
        "type": "case.accepted",
        "applicant": BEFORE.seal(orjson.dumps(applicant).decode(), field=KEYS.field),
    }
    done = plan.rewrite(AFTER, orjson.dumps(stored).decode(), {})
    assert done is not None
    value = orjson.loads(done[0])
    assert value["type"] == "case.accepted"
    assert orjson.loads(Vault(NEW).open(value["applicant"], field=KEYS.field)) == applicant
    assert plan.rewrite(AFTER, done[0], {}) is None
    legacy = plan.rewrite(AFTER, orjson.dumps({"applicant": applicant}).decode(), {})
    assert legacy is not None and orjson.loads(legacy[0])["applicant"].startswith("sm4:")
    assert plan.rewrite(AFTER, '{"type": "node.started"}', {}) is None


def test_an_index_without_a_rule_stops_the_rotation_before_it_starts() -> None:
    """An index of something other than a mobile must say how it is made."""
    assert index_rule(TEXT) is not None
    odd = SealedColumn("people", "email", "people.email", ("person_id",), "email_index")
    with pytest.raises(ConfigError, match=r"people\.email_index"):
        index_rule(odd)


def test_a_sealed_applicant_is_indexed_by_its_mobile_and_a_recipient_by_its_channel() -> None:
    """The index of a JSON applicant is its mobile's; an e-mail recipient's is lower case."""
    cases = SealedColumn(
        "cases", "applicant", "cases.applicant", ("case_no",), "applicant_mobile_index"
    )
    plan = _Column(cases, {"applicant": "jsonb", "case_no": "text"})
    applicant = orjson.dumps({"name": "张三丰", "mobile": "+8613812345678"}).decode()
    done = plan.rewrite(AFTER, orjson.dumps(applicant).decode(), {})
    assert done is not None and done[1] == Vault(NEW).blind_index("13812345678")
    messages = SealedColumn(
        "messages", "recipient", "messages.recipient", ("id",), "recipient_index"
    )
    plan = _Column(messages, {"recipient": "text", "id": "bigint"})
    done = plan.rewrite(AFTER, "Zhang@Example.CN ", {"channel": "email"})
    assert done is not None and done[1] == Vault(NEW).blind_index("zhang@example.cn")
