"""The personal parts of stored events and folds: sealed on the way in, opened on the way out."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.cases import CaseFold, fold_events
from core.events import EVENT_ADAPTER, Applicant, Event
from hub.privacy.fields import CASES_APPLICANT, EVENTS_APPLICANT, SEALED_COLUMNS, mobile_index
from hub.privacy.records import (
    ApplicantSealer,
    open_applicant,
    opened_fold,
    opened_payload,
    sealed_fold,
    sealed_payload,
)
from hub.privacy.stored import StoredForm
from hub.privacy.vault import DataKey, SealedValueError, Vault

VAULT = Vault(DataKey.from_hex("33" * 32))
APPLICANT = {"name": "张三丰", "mobile": "13812345678", "email": "zsf@example.cn"}
ACCEPTED = {
    "event_id": "A-1",
    "type": "case.accepted",
    "occurred_at": "2026-03-02T10:00:00+08:00",
    "case_no": "A",
    "matter": {"code": "SC-101", "name": "食品经营许可"},
    "department": {"code": "SCJG"},
    "applicant": APPLICANT,
    "limit": {"value": 20, "unit": "working_days"},
}
STARTED = {
    "event_id": "A-2",
    "type": "node.started",
    "occurred_at": "2026-03-02T11:00:00+08:00",
    "case_no": "A",
    "node_id": "n1",
    "name": "审查",
    "department": "SCJG",
    "assignee": {"id": "p-li", "name": "李四", "mobile": "13900001111", "email": "li@x.cn"},
}


def _stored(raw: dict[str, Any], sealer: ApplicantSealer | None = None) -> Any:
    """``raw`` as ingest stores it (validated beside it, as ingest has it)."""
    event: Event = EVENT_ADAPTER.validate_python(raw)
    return sealed_payload(sealer or ApplicantSealer(VAULT), raw, event)


def _clear(value: Any) -> list[str]:
    text = orjson.dumps(value).decode()
    words = ("张三丰", "13812345678", "zsf@", "13900001111", "li@")
    return [word for word in words if word in text]


def test_a_stored_payload_holds_no_contact_and_opens_to_the_applicant() -> None:
    """The applicant is one sealed value, the assignee keeps id and name; opening gives
    back the applicant as validated."""
    stored = [_stored(ACCEPTED), _stored(STARTED)]
    assert _clear(stored) == []
    assert stored[1]["assignee"] == {"id": "p-li", "name": "李四"}
    validated = {**APPLICANT, "wechat_openid": None}
    assert opened_payload(VAULT, stored[0]) == {**ACCEPTED, "applicant": validated}
    assert opened_payload(VAULT, stored[1]) == {**STARTED, "assignee": stored[1]["assignee"]}
    assert EVENT_ADAPTER.validate_python(opened_payload(VAULT, stored[0])) == (
        EVENT_ADAPTER.validate_python(ACCEPTED)
    )


def test_a_payload_without_personal_parts_is_stored_as_sent() -> None:
    """Nothing to seal: the very object is stored (no copy on the hot path)."""
    completed = {"event_id": "A-3", "type": "node.completed", "case_no": "A", "node_id": "n1"}
    bare = {**STARTED, "assignee": {"id": "p-li", "name": "李四"}}
    sealer = ApplicantSealer(VAULT)
    assert sealed_payload(sealer, completed) is completed
    assert sealed_payload(sealer, bare) is bare


def test_a_payload_stored_before_sealing_reads_as_it_is() -> None:
    """Rows from before sealing keep their applicant in clear and still open."""
    assert opened_payload(VAULT, ACCEPTED) is ACCEPTED
    assert open_applicant(VAULT, APPLICANT) is APPLICANT
    assert open_applicant(VAULT, orjson.dumps(APPLICANT).decode()) == APPLICANT
    assert open_applicant(VAULT, None) is None


def test_an_event_holds_the_sealed_text_of_its_case() -> None:
    """One seal per applicant per batch: the event, the case row and the fold share it,
    and it opens only as the case's applicant."""
    sealer = ApplicantSealer(VAULT)
    stored = _stored(ACCEPTED, sealer)["applicant"]
    assert stored == sealer.seal(Applicant.model_validate(APPLICANT))
    assert open_applicant(VAULT, stored)["mobile"] == "13812345678"
    with pytest.raises(SealedValueError):
        open_applicant(VAULT, stored, fields=(EVENTS_APPLICANT,))


def test_an_event_sealed_before_the_shared_seal_still_opens() -> None:
    """Rows stored with the applicant sealed as ``events.applicant`` (as sent) open as they
    did, for replay, export, erasure and rotation alike."""
    old = {
        **ACCEPTED,
        "applicant": VAULT.seal(orjson.dumps(APPLICANT).decode(), field=EVENTS_APPLICANT),
    }
    assert opened_payload(VAULT, old) == ACCEPTED
    events = {(c.table, c.column): c for c in SEALED_COLUMNS}["events", "payload"]
    assert StoredForm(VAULT).read_keys("events", "payload", old) == ACCEPTED
    assert events.fields == (CASES_APPLICANT, EVENTS_APPLICANT)


def test_a_stored_fold_holds_no_contact_and_continues_as_the_fold_did() -> None:
    """Sealed and opened again, a fold gives the same case: the applicant whole, the
    assignees without contacts (nothing projects them)."""
    events = [EVENT_ADAPTER.validate_python(e) for e in (ACCEPTED, STARTED)]
    fold = fold_events(CaseFold(case_no="A"), events)
    stored = sealed_fold(ApplicantSealer(VAULT), fold)
    assert _clear(stored) == []
    again = CaseFold.from_snapshot(opened_fold(VAULT, orjson.loads(orjson.dumps(stored))))
    assert again is not None
    assert again.accepted == fold.accepted
    assert again.nodes["n1"].assignee.id == "p-li"
    assert again.nodes["n1"].assignee.mobile is None
    assert again.snapshot()["last_at"] == fold.snapshot()["last_at"]


def test_one_applicant_is_sealed_once_for_the_case_and_its_fold() -> None:
    """The sealer reuses the sealed text of an equal applicant, and only of an equal one."""
    sealer = ApplicantSealer(VAULT)
    first = sealer.seal(Applicant.model_validate(APPLICANT))
    assert sealer.seal(Applicant.model_validate(dict(APPLICANT))) == first
    assert sealer.seal(Applicant.model_validate({**APPLICANT, "name": "李四"})) != first
    assert open_applicant(VAULT, first) == {**APPLICANT, "wechat_openid": None}


def test_a_continued_fold_keeps_its_sealed_applicant_and_index() -> None:
    """A fold read back hands its sealed text to the next batch's sealer: the same
    applicant is not sealed again, and the case row keeps the index stored beside it."""
    events = [EVENT_ADAPTER.validate_python(ACCEPTED)]
    first = ApplicantSealer(VAULT)
    stored = orjson.loads(
        orjson.dumps(sealed_fold(first, fold_events(CaseFold(case_no="A"), events)))
    )
    row = {"applicant": stored["accepted"]["applicant"], "applicant_mobile_index": b"kept"}

    later = ApplicantSealer(VAULT)
    fold = CaseFold.from_snapshot(opened_fold(VAULT, stored))
    assert fold is not None and fold.accepted is not None
    later.remember_fold(fold, stored)
    assert later.seal(fold.accepted.applicant) == row["applicant"]
    assert later.index(fold.accepted.applicant, row) == b"kept"
    # Another applicant on the same case row: sealed anew, its own index.
    other = Applicant.model_validate({**APPLICANT, "mobile": "13900009999"})
    assert later.seal(other) != row["applicant"]
    assert later.index(other, row) == mobile_index(VAULT, "13900009999")


def test_a_text_under_an_older_key_is_not_reused() -> None:
    """A fold sealed under a previous key is sealed again under the current one."""
    old_vault = Vault(DataKey.from_hex("44" * 32))
    text = old_vault.seal(orjson.dumps(APPLICANT).decode(), field=CASES_APPLICANT)
    vault = Vault(VAULT.current, previous=[old_vault.current])
    sealer = ApplicantSealer(vault)
    applicant = Applicant.model_validate(APPLICANT)
    sealer.remember(applicant, text)
    assert not vault.needs_rotation(sealer.seal(applicant))


def test_the_sealed_json_columns_are_registered() -> None:
    """Rotation and erasure find the events' and folds' sealed applicants by their paths."""
    by_column = {(c.table, c.column): c for c in SEALED_COLUMNS}
    assert by_column["events", "payload"].paths == ("applicant",)
    assert by_column["events", "payload"].field == CASES_APPLICANT
    assert by_column["case_folds", "fold"].derived


@given(
    st.dictionaries(
        st.sampled_from(["name", "mobile", "email", "wechat_openid", "id_card"]),
        st.text(max_size=30),
    )
)
def test_any_applicant_object_round_trips(applicant: dict[str, str]) -> None:
    """Whatever an approval system sends as an applicant the event does not read comes
    back as sent."""
    raw = {"type": "case.applied", "applicant": applicant}
    stored = sealed_payload(ApplicantSealer(VAULT), raw)
    assert isinstance(stored["applicant"], str)
    assert opened_payload(VAULT, stored) == raw
