"""A rectification read from its row: the sealed comment and reply opened with the key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.privacy.fields import RECTIFICATIONS_COMMENT, RECTIFICATIONS_REPLY
from hub.privacy.vault import DataKey, Vault
from hub.rectifications.model import Rectification

VAULT = Vault(DataKey.from_hex("55" * 32))


def _row(**changes: Any) -> dict[str, Any]:
    row = {name: None for name in Rectification.__dataclass_fields__}
    row |= {
        "id": 1,
        "case_no": "R-1",
        "rating": 1,
        "source": "sms",
        "status": "closed",
        "opened_at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        "provisional": False,
    }
    return row | changes


def test_the_comment_and_reply_open_with_the_key() -> None:
    """Sealed in the row, in clear on the rectification."""
    row = _row(
        comment=VAULT.seal("窗口让我跑了两趟", field=RECTIFICATIONS_COMMENT),
        reply=VAULT.seal("已整改", field=RECTIFICATIONS_REPLY),
    )
    rect = Rectification.from_row(row, VAULT)
    assert (rect.comment, rect.reply) == ("窗口让我跑了两趟", "已整改")


def test_rows_from_before_sealing_and_empty_ones_read_as_they_are() -> None:
    """A clear comment passes through; no comment stays none."""
    rect = Rectification.from_row(_row(comment="太慢", reply=None), VAULT)
    assert (rect.comment, rect.reply) == ("太慢", None)


def test_without_the_key_they_stay_as_stored() -> None:
    """What reads only statuses and instants needs no key and opens nothing."""
    sealed = VAULT.seal("太慢", field=RECTIFICATIONS_COMMENT)
    assert Rectification.from_row(_row(comment=sealed)).comment == sealed
