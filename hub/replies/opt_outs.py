"""``TD`` / ``退订``: a number opts out of optional SMS, found by its blind index.

The number is stored sealed (``opt_outs.mobile``, migration 0030) next to its index.

The ``messages_opt_out_filter`` trigger (migrations 0005, 0029, 0035) cancels an optional
SMS as it is queued when its ``recipient_index`` is an opted-out number's index under any
configured key (``opt_out_indexes``); :func:`opt_out` also cancels the ones already
waiting. The number itself is never compared.

Why every key: a message is queued with the index under the writing process's current
key, while ``cuiban keys rotate`` re-indexes ``opt_outs.mobile_index`` only when it gets
there. So each opt-out keeps its index under every configured key: TD writes them all,
and a process that starts with a key the table does not know yet fills it in
(:func:`index_under_every_key`) before it queues anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from core.events import mobile_digits
from hub.privacy.fields import OPT_OUTS_MOBILE, mobile_index, mobile_lookup, reveal
from hub.privacy.vault import SealedValueError, Vault
from hub.store.queries import Q


async def opt_out(
    conn: asyncpg.Connection, vault: Vault, mobile: str, *, now: datetime, inbound_id: int
) -> str:
    """Record the opt-out (once) and cancel the number's queued optional SMS; the status."""
    digits = mobile_digits(mobile)
    sealed = vault.seal(digits, field=OPT_OUTS_MOBILE)
    lookup = mobile_lookup(vault, mobile)
    new_id = await conn.fetchval(
        Q["insert_opt_out"], sealed, now, inbound_id, mobile_index(vault, mobile), lookup
    )
    if new_id is not None:
        ids = key_ids(vault)
        await conn.execute(Q["insert_opt_out_indexes"], [new_id] * len(ids), ids, lookup)
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


async def opted_out_numbers(conn: asyncpg.Connection, vault: Vault) -> list[str]:
    """The digits of every number stored sealed that opted out, opened (a broadcast's filter).

    Opt-outs are few (people who replied TD); SQL cannot open them, so the broadcast
    audience compares its numbers with this list.
    """
    rows = await conn.fetch(Q["opt_outs_sealed"])
    return [mobile_digits(reveal(vault, r["mobile"], field=OPT_OUTS_MOBILE)) for r in rows]


async def index_stored(conn: asyncpg.Connection, vault: Vault) -> int:
    """Seal and index opt-outs stored in clear before migrations 0029/0030; how many.

    Run when a process with the key starts: without it the trigger, which compares
    indexes, would let optional SMS through to numbers that opted out before sealing.
    """
    rows = await conn.fetch(Q["opt_outs_without_index"])
    if rows:
        await conn.executemany(
            Q["opt_out_set_index"],
            [
                (
                    r["mobile"],
                    mobile_index(vault, r["mobile"]),
                    vault.seal(mobile_digits(r["mobile"]), field=OPT_OUTS_MOBILE),
                )
                for r in rows
            ],
        )
    return len(rows)


#: Opt-outs indexed per batch when a process starts with a key the table does not know.
INDEX_BATCH = 1000


async def index_under_every_key(conn: asyncpg.Connection, vault: Vault) -> int:
    """Give every sealed opt-out its index under each key of ``vault``; how many were missing one.

    Run when a process starts, after :func:`index_stored`: the first start with a new
    data key indexes every opt-out under it (one SM4 open and an HMAC per key each), later
    starts find nothing to do. An opt-out no configured key opens is left to the rotation,
    which reports it. Indexes under keys no longer configured are deleted once the latest
    rotation, to this process's key, has finished.
    """
    ids = key_ids(vault)
    done, after = 0, 0
    while rows := await conn.fetch(Q["opt_outs_missing_a_key"], ids, after, INDEX_BATCH):
        after = rows[-1]["id"]
        owners: list[int] = []
        indexes: list[bytes] = []
        for row in rows:
            try:
                digits = mobile_digits(vault.open(row["mobile"], field=OPT_OUTS_MOBILE))
            except SealedValueError:
                continue
            owners.append(row["id"])
            indexes += vault.blind_indexes(digits)
        # One statement a batch: a row per opt-out and key.
        await conn.execute(
            Q["insert_opt_out_indexes"],
            [owner for owner in owners for _ in ids],
            ids * len(owners),
            indexes,
        )
        done += len(owners)
    await conn.execute(Q["opt_out_indexes_retire"], ids, vault.current.key_id)
    return done


def key_ids(vault: Vault) -> list[str]:
    """The ids of the vault's keys in the order of :meth:`Vault.blind_indexes` (current first)."""
    keys = vault.keys()
    return [key.key_id for key in keys]
