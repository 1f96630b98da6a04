"""Rate limits and lockouts for the WAP and supervision pages, in PostgreSQL for every process.

An attempt is counted *before* it is checked (:func:`take`), in one atomic
upsert: however many requests race, at most ``attempts`` of them in a window
ever reach the code comparison. A failure that fills the window locks the key
for ``lockout`` (:func:`failed`); a success gives its attempt back
(:func:`refund`) or clears the key (:func:`reset`). Keys are MACs
(:func:`hub.pages.security.mac`) of the client address, case number or mobile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from hub.store.queries import Q


@dataclass(frozen=True, kw_only=True)
class Limit:
    """At most ``attempts`` failures per ``window``; then locked for ``lockout``."""

    scope: str
    attempts: int
    window: timedelta
    lockout: timedelta


#: Wrong query codes for one case number (known or not: the key is the typed text).
LOOKUP_PER_CASE = Limit(
    scope="lookup_case", attempts=5, window=timedelta(hours=1), lockout=timedelta(minutes=30)
)
#: Wrong query codes or SMS codes from one client address, whatever the case.
LOOKUP_PER_CLIENT = Limit(
    scope="lookup_client", attempts=20, window=timedelta(hours=1), lockout=timedelta(hours=1)
)
#: SMS codes requested from one client address, whatever the number (no SMS bombing).
CODES_PER_CLIENT = Limit(
    scope="code_client", attempts=10, window=timedelta(hours=1), lockout=timedelta(hours=1)
)

#: Wrong keys on the ``/supervise/`` sign-in form from one client address.
SUPERVISE_SIGN_IN_PER_CLIENT = Limit(
    scope="supervise_client", attempts=10, window=timedelta(hours=1), lockout=timedelta(hours=1)
)


@dataclass(frozen=True, kw_only=True)
class Taken:
    limit: Limit
    key: str
    count: int
    locked: bool


async def take(conn: asyncpg.Connection, limit: Limit, key: str, *, now: datetime) -> Taken:
    """Count one attempt; ``locked`` when the key is locked out or its window is full."""
    row = await conn.fetchrow(Q["wap_limit_take"], limit.scope, key, now, limit.window)
    assert row is not None
    until: datetime | None = row["locked_until"]
    locked = (until is not None and until > now) or row["count"] > limit.attempts
    return Taken(limit=limit, key=key, count=row["count"], locked=locked)


async def failed(conn: asyncpg.Connection, taken: Taken, *, now: datetime) -> None:
    """The attempt was wrong: lock the key once its window is full."""
    if taken.count >= taken.limit.attempts:
        await conn.execute(
            Q["wap_limit_lock"], taken.limit.scope, taken.key, now + taken.limit.lockout
        )


async def refund(conn: asyncpg.Connection, taken: Taken) -> None:
    """The attempt was right: it does not count against the key."""
    await conn.execute(Q["wap_limit_refund"], taken.limit.scope, taken.key)


async def reset(conn: asyncpg.Connection, taken: Taken) -> None:
    """The right code was shown for this key: forget its earlier failures."""
    await conn.execute(Q["wap_limit_reset"], taken.limit.scope, taken.key)


async def purge(conn: asyncpg.Connection, *, now: datetime) -> None:
    """Forget keys whose window and lockout ended a day ago (the table stays small)."""
    await conn.execute(Q["wap_limit_purge"], now - timedelta(days=1))
