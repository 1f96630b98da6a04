"""``TD`` / ``退订``: a number opts out of optional SMS, found by its blind index.

The ``messages_opt_out_filter`` trigger (migrations 0005, 0029) cancels an optional SMS
as it is queued when its ``recipient_index`` is an opted-out number's ``mobile_index``;
:func:`opt_out` also cancels the ones already waiting. The number itself is never compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from core.events import mobile_digits
from hub.privacy.fields import mobile_index, mobile_lookup
from hub.privacy.vault import Vault
from hub.store.queries import Q


async def opt_out(
    conn: asyncpg.Connection, vault: Vault, mobile: str, *, now: datetime, inbound_id: int
) -> str:
    """Record the opt-out (once) and cancel the number's queued optional SMS; the status."""
    digits = mobile_digits(mobile)
    await conn.execute(Q["insert_opt_out"], digits, now, inbound_id, mobile_index(vault, mobile))
    lookup = mobile_lookup(vault, mobile)
    status: str = await conn.execute(Q["cancel_optional_to"], lookup, now, digits)
    return status


async def opted_out(conn: asyncpg.Connection, vault: Vault, mobiles: Iterable[str]) -> set[str]:
    """The numbers among ``mobiles`` that replied TD (as given, ``+86`` or not).

    The trigger already cancels optional SMS to these numbers as they are queued;
    call this to leave such notices out beforehand.
    """
    given = {m: mobile_lookup(vault, m) for m in mobiles if m}
    if not given:
        return set()
    wanted = sorted({index for indexes in given.values() for index in indexes})
    found = {bytes(r["mobile_index"]) for r in await conn.fetch(Q["opted_out_among"], wanted)}
    return {original for original, indexes in given.items() if found.intersection(indexes)}


async def index_stored(conn: asyncpg.Connection, vault: Vault) -> int:
    """Give opt-outs stored before migration 0029 their blind index; how many were missing.

    Run when a process with the key starts: without it the trigger, which compares
    indexes, would let optional SMS through to numbers that opted out before sealing.
    """
    rows = await conn.fetch(Q["opt_outs_without_index"])
    if rows:
        await conn.executemany(
            Q["opt_out_set_index"], [(r["mobile"], mobile_index(vault, r["mobile"])) for r in rows]
        )
    return len(rows)
