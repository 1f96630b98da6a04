"""The personal parts of stored JSON records (events, stored folds), sealed and opened.

An event's payload is kept as the approval system sent it, except:

* ``applicant`` is sealed as one value, as validated (name, mobile normalised,
  e-mail, openid; keys Cuiban ignores are not kept), with the field name
  ``cases.applicant``: it is the case's applicant, and the case row and its stored
  fold hold the very same sealed text, so a batch seals each applicant once
  (:class:`ApplicantSealer`). Events stored before that hold the applicant as sent,
  sealed as ``events.applicant``; they open as they did
  (:data:`~hub.privacy.fields.EVENTS_PAYLOAD` names both fields).
* ``assignee`` keeps its ``id`` and ``name`` only. An official's contacts are
  directory data, kept once, in ``people`` (``PUT /v1/people`` and the latest
  ``node.started`` write them there); a replay reads only the id and the name.

A stored fold (``case_folds``, derived from the events) holds the applicant sealed
as ``cases.applicant`` — the same text as the case row and the event — and its
nodes' assignees without contacts. A fold continued in a later batch hands its
sealed applicant back to the sealer, so an unchanged applicant is not sealed again.
Rows stored before sealing (an applicant object in clear) are read as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from core.cases import CaseFold
from core.events import Applicant, Event, mobile_digits
from hub.privacy.fields import (
    CASES_APPLICANT,
    EVENTS_PAYLOAD,
    mobile_index,
    mobile_lookup,
    open_as,
)
from hub.privacy.vault import Vault

#: What an assignee keeps in a stored event or fold: the official's id and name.
ASSIGNEE_KEPT = ("id", "name")
_FOLD_APPLICANTS = ("accepted", "applied")


class ApplicantSealer:
    """Seals applicants as ``cases.applicant``, each distinct one once per batch.

    An applicant ingest sees is written three times — in its event, the case row and
    the stored fold — and all three hold one sealed text: one SM4-GCM call per
    distinct applicant per batch, and one blind index of its mobile. A fold read back
    to be continued hands in the text it holds (:meth:`remember`), so an unchanged
    applicant is not sealed again at all.
    """

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._sealed: dict[Applicant, str] = {}

    def seal(self, applicant: Applicant) -> str:
        sealed = self._sealed.get(applicant)
        if sealed is None:
            plain = orjson.dumps(applicant.model_dump(mode="json")).decode()
            sealed = self._sealed[applicant] = self.vault.seal(plain, field=CASES_APPLICANT)
        return sealed

    def seal_raw(self, applicant: Any) -> str:
        """An applicant object the event model does not read, sealed as sent."""
        return self.vault.seal(orjson.dumps(applicant).decode(), field=CASES_APPLICANT)

    def index(self, applicant: Applicant, stored: Mapping[str, Any] | None = None) -> bytes:
        """The blind index of the applicant's mobile (``cases.applicant_mobile_index``).

        ``stored`` is the case row as it was: if it holds the very sealed text this
        applicant has now, its index is the one to keep (computed from the same value).
        """
        sealed = self._sealed.get(applicant)
        if stored is not None and sealed is not None and stored["applicant"] == sealed:
            kept = stored["applicant_mobile_index"]
            if isinstance(kept, bytes):
                return kept
        return mobile_index(self.vault, applicant.mobile)

    def remember(self, applicant: Applicant, sealed: Any) -> None:
        """Reuse ``sealed`` (read back with ``applicant`` in it) for this applicant.

        Only a text under the current key is reused: one under an older key is left for
        ``cuiban keys rotate`` to find, not copied into new rows.
        """
        if not isinstance(sealed, str) or not Vault.is_sealed(sealed):
            return
        if not self.vault.needs_rotation(sealed):
            self._sealed.setdefault(applicant, sealed)

    def remember_fold(self, fold: CaseFold, stored: Mapping[str, Any]) -> None:
        """The sealed applicants of a stored fold (``stored``), for the fold built from it."""
        for key in _FOLD_APPLICANTS:
            event = getattr(fold, key)
            kept = stored.get(key)
            if event is not None and isinstance(kept, Mapping):
                self.remember(event.applicant, kept.get("applicant"))


def open_applicant(
    vault: Vault, stored: Any, *, fields: tuple[str, ...] = (CASES_APPLICANT,)
) -> Any:
    """An applicant as stored (sealed text, JSON text, or an object) as an object; None stays.

    ``fields``: what the value may be sealed as, the usual one first.
    """
    if stored is None or isinstance(stored, Mapping):
        return stored
    if isinstance(stored, str):
        text = open_as(vault, stored, fields) if Vault.is_sealed(stored) else stored
        return orjson.loads(text)
    return stored


def is_applicants_number(vault: Vault, case: Mapping[str, Any], mobile: str) -> bool:
    """Whether ``mobile`` is the applicant's number of ``case`` (a ``cases`` row).

    Compared by the blind index, without opening the applicant; a case stored before
    sealing (no index) by its clear number.
    """
    index = case["applicant_mobile_index"]
    if index is not None:
        return bytes(index) in mobile_lookup(vault, mobile)
    applicant = open_applicant(vault, case["applicant"])
    if not isinstance(applicant, Mapping) or not applicant.get("mobile"):
        return False
    return mobile_digits(str(applicant["mobile"])) == mobile_digits(mobile)


def _officials_part(assignee: Any) -> Any:
    if not isinstance(assignee, Mapping):
        return assignee
    return {key: assignee[key] for key in ASSIGNEE_KEPT if key in assignee}


def sealed_payload(
    sealer: ApplicantSealer, raw: Mapping[str, Any], event: Event | None = None
) -> Mapping[str, Any]:
    """The payload to store: the applicant sealed, the assignee without contacts.

    ``event`` is ``raw`` validated: its applicant is sealed as validated, the same text
    as the case row's. An ``applicant`` the event type does not read is sealed as sent.
    """
    applicant = raw.get("applicant")
    assignee = raw.get("assignee")
    trimmed = _officials_part(assignee)
    if applicant is None and trimmed == assignee:
        return raw
    stored = dict(raw)
    if applicant is not None:
        validated = getattr(event, "applicant", None)
        if isinstance(validated, Applicant):
            stored["applicant"] = sealer.seal(validated)
        else:
            stored["applicant"] = sealer.seal_raw(applicant)
    if assignee is not None:
        stored["assignee"] = trimmed
    return stored


def opened_payload(vault: Vault, stored: Mapping[str, Any]) -> Mapping[str, Any]:
    """A stored payload with its applicant opened (what replay and exports read)."""
    applicant = stored.get("applicant")
    if not isinstance(applicant, str):
        return stored
    opened = open_applicant(vault, applicant, fields=EVENTS_PAYLOAD.fields)
    return {**stored, "applicant": opened}


def sealed_fold(sealer: ApplicantSealer, fold: CaseFold) -> dict[str, Any]:
    """A fold's snapshot to store: applicants sealed (assignees come without contacts)."""
    stored = fold.snapshot()
    for key in _FOLD_APPLICANTS:
        event = getattr(fold, key)
        if event is not None:
            stored[key] = {**stored[key], "applicant": sealer.seal(event.applicant)}
    return stored


def opened_fold(vault: Vault, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored fold's snapshot with its applicants opened, for ``CaseFold.from_snapshot``."""
    opened = dict(stored)
    for key in _FOLD_APPLICANTS:
        event = opened.get(key)
        if isinstance(event, Mapping) and isinstance(event.get("applicant"), str):
            opened[key] = {**event, "applicant": open_applicant(vault, event["applicant"])}
    return opened
