"""The personal parts of stored JSON records (events, stored folds), sealed and opened.

An event's payload is kept as the approval system sent it, except:

* ``applicant`` (name, mobile, e-mail, openid and whatever else the system sent in
  it) is sealed as one value (``events.applicant``): one SM4-GCM call per event
  that carries it, where sealing the payload whole would cost one per event.
* ``assignee`` keeps its ``id`` and ``name`` only. An official's contacts are
  directory data, kept once, in ``people`` (``PUT /v1/people`` and the latest
  ``node.started`` write them there); a replay reads only the id and the name.

A stored fold (``case_folds``, derived from the events) holds the applicant sealed
as ``cases.applicant`` — the same value as the case row, so one seal serves both —
and its nodes' assignees without contacts. Rows stored before sealing (an applicant
object in clear) are read as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from core.events import mobile_digits
from hub.privacy.fields import CASES_APPLICANT, EVENTS_APPLICANT, mobile_lookup
from hub.privacy.vault import Vault

#: What an assignee keeps in a stored event or fold: the official's id and name.
ASSIGNEE_KEPT = ("id", "name")
_FOLD_APPLICANTS = ("accepted", "applied")


class ApplicantSealer:
    """Seals applicants as ``cases.applicant``, each distinct one once per use.

    One ingest seals a case's applicant for the case row and for its stored fold;
    they are the same value, so they share the sealed text instead of two seals.
    """

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._sealed: dict[bytes, str] = {}

    def seal(self, applicant: Mapping[str, Any]) -> str:
        plain = orjson.dumps(applicant)
        sealed = self._sealed.get(plain)
        if sealed is None:
            sealed = self.vault.seal(plain.decode(), field=CASES_APPLICANT)
            self._sealed[plain] = sealed
        return sealed


def open_applicant(vault: Vault, stored: Any, *, field: str = CASES_APPLICANT) -> Any:
    """An applicant as stored (sealed text, JSON text, or an object) as an object; None stays."""
    if stored is None or isinstance(stored, Mapping):
        return stored
    if isinstance(stored, str):
        text = vault.open(stored, field=field) if Vault.is_sealed(stored) else stored
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


def sealed_payload(vault: Vault, raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload to store: the applicant sealed, the assignee without contacts."""
    applicant = raw.get("applicant")
    assignee = raw.get("assignee")
    trimmed = _officials_part(assignee)
    if applicant is None and trimmed == assignee:
        return raw
    stored = dict(raw)
    if applicant is not None:
        stored["applicant"] = vault.seal(orjson.dumps(applicant).decode(), field=EVENTS_APPLICANT)
    if assignee is not None:
        stored["assignee"] = trimmed
    return stored


def opened_payload(vault: Vault, stored: Mapping[str, Any]) -> Mapping[str, Any]:
    """A stored payload with its applicant opened (what replay and exports read)."""
    applicant = stored.get("applicant")
    if not isinstance(applicant, str):
        return stored
    return {**stored, "applicant": open_applicant(vault, applicant, field=EVENTS_APPLICANT)}


def sealed_fold(sealer: ApplicantSealer, snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A fold's snapshot to store: applicants sealed, assignees without contacts."""
    stored = dict(snapshot)
    for key in _FOLD_APPLICANTS:
        event = stored.get(key)
        if isinstance(event, Mapping) and isinstance(event.get("applicant"), Mapping):
            stored[key] = {**event, "applicant": sealer.seal(event["applicant"])}
    nodes = stored.get("nodes")
    if isinstance(nodes, list):
        stored["nodes"] = [
            {**node, "assignee": _officials_part(node.get("assignee"))}
            if isinstance(node, Mapping)
            else node
            for node in nodes
        ]
    return stored


def opened_fold(vault: Vault, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored fold's snapshot with its applicants opened, for ``CaseFold.from_snapshot``."""
    opened = dict(stored)
    for key in _FOLD_APPLICANTS:
        event = opened.get(key)
        if isinstance(event, Mapping) and isinstance(event.get("applicant"), str):
            opened[key] = {**event, "applicant": open_applicant(vault, event["applicant"])}
    return opened
