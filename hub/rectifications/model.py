"""A rectification (差评整改) as stored, and how it stands at an instant.

One is opened by each poor rating (1 非常不满意 or 2 不满意); it is verified
(回访核实: the department calls the applicant back) and closed with an outcome
and a reply to the applicant, each by its own due instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from core.deadlines import require_aware
from core.levels import Level, level_for
from hub.privacy.fields import RECTIFICATIONS_COMMENT, RECTIFICATIONS_REPLY, reveal
from hub.privacy.vault import Vault

__all__ = [
    "OUTCOMES",
    "OUTCOME_WORDS",
    "POOR_RATINGS",
    "POOR_RATING_WORDS",
    "STATUSES",
    "Outcome",
    "Rectification",
    "Status",
]

Status = Literal["open", "verified", "closed"]
Outcome = Literal["rectified", "explained", "unfounded"]
STATUSES: tuple[Status, ...] = ("open", "verified", "closed")
OUTCOMES: tuple[Outcome, ...] = ("rectified", "explained", "unfounded")
OUTCOME_WORDS: Mapping[str, str] = {
    "rectified": "已整改",
    "explained": "已解释说明",
    "unfounded": "经核实不属实",
}
#: 国办发〔2019〕51号: 非常不满意 (1) and 不满意 (2) are the ratings that must be followed up.
POOR_RATING_WORDS: Mapping[int, str] = {1: "非常不满意", 2: "不满意"}
POOR_RATINGS = frozenset(POOR_RATING_WORDS)
_SEVERITY = {Level.GREEN: 0, Level.YELLOW: 1, Level.RED: 2}


@dataclass(frozen=True, kw_only=True)
class Rectification:
    id: int
    case_no: str
    department_code: str | None
    department_name: str | None
    matter_name: str | None
    rating: int
    comment: str | None
    source: str
    status: Status
    head: str | None
    opened_at: datetime
    verify_due_date: date | None
    verify_due_at: datetime | None
    verify_warn_at: datetime | None
    rectify_due_date: date | None
    rectify_due_at: datetime | None
    rectify_warn_at: datetime | None
    verified_at: datetime | None
    verified_by: str | None
    finding: str | None
    closed_at: datetime | None
    closed_by: str | None
    outcome: Outcome | None
    reply: str | None
    provisional: bool = False  # a due date rests on the provisional next year

    def __post_init__(self) -> None:
        require_aware("opened_at", self.opened_at)
        for name in ("verify_due_at", "rectify_due_at", "verified_at", "closed_at"):
            value = getattr(self, name)
            if value is not None:
                require_aware(name, value)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], vault: Vault | None = None) -> Rectification:
        """The row's rectification. The applicant's comment and the reply are stored sealed:
        with ``vault`` they are opened; without, they stay as stored, which is enough for
        what reads only statuses and instants (reminder timers, re-checks before a send)."""
        fields = {name: row[name] for name in cls.__dataclass_fields__}
        if vault is not None:
            for name, field in (
                ("comment", RECTIFICATIONS_COMMENT),
                ("reply", RECTIFICATIONS_REPLY),
            ):
                if isinstance(fields[name], str):
                    fields[name] = reveal(vault, fields[name], field=field)
        return cls(**fields)

    def level(self, now: datetime) -> Level | None:
        """Done once closed; else the worse of the pending steps (verify while open, answer).

        None when the deadlines are unknown (the calendar lacks a year they need).
        """
        if self.status == "closed":
            return Level.DONE
        levels = []
        if self.status == "open" and self.verify_due_at and self.verify_warn_at:
            levels.append(
                level_for(warn_at=self.verify_warn_at, due_at=self.verify_due_at, now=now)
            )
        if self.rectify_due_at and self.rectify_warn_at:
            levels.append(
                level_for(warn_at=self.rectify_warn_at, due_at=self.rectify_due_at, now=now)
            )
        return max(levels, key=_SEVERITY.__getitem__) if levels else None

    @property
    def verified_on_time(self) -> bool | None:
        """Verified by its due instant; None while that cannot be said yet or is unknown."""
        return _on_time(self.verified_at, self.verify_due_at)

    @property
    def closed_on_time(self) -> bool | None:
        return _on_time(self.closed_at, self.rectify_due_at)


def _on_time(done_at: datetime | None, due_at: datetime | None) -> bool | None:
    if due_at is None or done_at is None:
        return None
    return done_at <= due_at
