"""The lookup by mobile number: a 6-digit SMS code, then a short session listing its cases.

A code is valid for 5 minutes, for one use, and for at most 5 wrong tries; a
number gets at most 1 code a minute, 5 an hour and 10 a day (rolling), and one
client address at most :data:`~hub.wap_limits.CODES_PER_CLIENT`. The SMS goes
out only when the number has cases — but every request is counted, answered
alike and does the same work (the SMS is stored in a savepoint that is rolled
back for an unknown number), so neither the page nor its timing tells whether a
number is known.

The page's form carries a random *login handle*, never the mobile number; the
database keeps MACs of the handle and of the code (the code itself is only in
the SMS). A verified number gets a session cookie (``HttpOnly``,
``SameSite=Strict``) for 30 minutes.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
from aiohttp import web

from core.notices import ChannelKind, NoticeKind
from hub.keys import SETTINGS, VAULT
from hub.notices.outbox import Address, Notice, enqueue
from hub.notices.words import mask_mobile
from hub.pages.security import SessionTable, mac
from hub.privacy.fields import (
    WAP_CODES_MOBILE,
    WAP_SESSIONS_MOBILE,
    mobile_index,
    mobile_lookup,
    reveal,
)
from hub.privacy.vault import Vault
from hub.settings import Settings
from hub.store import attempts as wap_limits
from hub.store.queries import Q

CODE_LIFETIME = timedelta(minutes=5)
CODE_TRIES = 5
PER_MINUTE, PER_HOUR, PER_DAY = 1, 5, 10
SESSION_COOKIE = "wap_sid"
SESSIONS = SessionTable(purpose="wap_session", lifetime=timedelta(minutes=30))

Refusal = Literal["minute", "hour", "day", "client"]
Failure = Literal["expired", "wrong"]


@dataclass(frozen=True, kw_only=True)
class CodeIssued:
    login: str  # the handle the code-entry form carries


@dataclass(frozen=True, kw_only=True)
class CodeRefused:
    reason: Refusal


def _code_mac(app: web.Application, login: str, code: str) -> str:
    # Bound to the login handle: a table of the million possible codes' MACs is useless.
    return mac(app, "sms_code", f"{login}|{code}")


async def request_code(
    app: web.Application, conn: asyncpg.Connection, mobile: str, *, client: str, now: datetime
) -> CodeIssued | CodeRefused:
    """Issue a code for ``mobile`` (SMS only if it has cases), or say which limit refuses it."""
    async with conn.transaction():
        vault = app[VAULT]
        refused = await _refusal(conn, mobile_lookup(vault, mobile), mobile, client=client, now=now)
        if refused is not None:
            return refused
        login = secrets.token_urlsafe(18)
        code = f"{secrets.randbelow(1_000_000):06d}"
        login_mac = mac(app, "sms_login", login)
        await conn.execute(
            Q["wap_code_insert"],
            login_mac,
            vault.seal(mobile, field=WAP_CODES_MOBILE),
            _code_mac(app, login, code),
            now,
            now + CODE_LIFETIME,
            mobile_index(vault, mobile),
        )
        await conn.execute(Q["wap_code_purge"], now - timedelta(days=1))
        await wap_limits.purge(conn, now=now)
        known = bool(await conn.fetchval(Q["wap_has_cases"], mobile_lookup(vault, mobile), mobile))
        settings = app[SETTINGS]
        notice = Notice(
            kind=NoticeKind.VERIFICATION_CODE,
            dedupe_key=f"verification_code:{login_mac}",
            addresses=(Address(channel=ChannelKind.SMS, recipient=mobile),),
            context={
                "code": code,
                "minutes": str(CODE_LIFETIME.seconds // 60),
                "link": f"{settings.http.public_base_url}/wap/",
            },
            # Asked for this moment: no quiet hours, ahead of routine notices.
            not_before=now,
            priority=-1,
        )
        await _send_if_known(conn, notice, known, now=now, settings=settings, vault=vault)
    return CodeIssued(login=login)


async def _refusal(
    conn: asyncpg.Connection, indexes: list[bytes], mobile: str, *, client: str, now: datetime
) -> CodeRefused | None:
    """Which limit refuses another code now (per client, then per number), if any."""
    taken = await wap_limits.take(conn, wap_limits.CODES_PER_CLIENT, client, now=now)
    await wap_limits.failed(conn, taken, now=now)  # every request fills the window
    if taken.locked:
        return CodeRefused(reason="client")
    await conn.execute(Q["wap_code_lock_mobile"], mobile)
    counts = await conn.fetchrow(Q["wap_code_counts"], indexes, now)
    assert counts is not None
    windows: tuple[tuple[Refusal, int], ...] = (
        ("minute", PER_MINUTE),
        ("hour", PER_HOUR),
        ("day", PER_DAY),
    )
    for reason, limit in windows:
        if counts[reason] >= limit:
            return CodeRefused(reason=reason)
    return None


async def _send_if_known(
    conn: asyncpg.Connection,
    notice: Notice,
    known: bool,
    *,
    now: datetime,
    settings: Settings,
    vault: Vault,
) -> None:
    """Store the code's SMS for a number with cases; do the same work and undo it otherwise.

    Issue 13: known numbers answered 1.3 ms slower, and 68% of guesses were right. The SMS
    is rendered and stored either way; for an unknown number its savepoint rolls back.
    """
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        await enqueue(
            conn, [notice], now=now, max_attempts=settings.policy.max_attempts, vault=vault
        )
    except BaseException:
        await savepoint.rollback()
        raise
    await (savepoint.commit() if known else savepoint.rollback())


async def check_code(
    app: web.Application, conn: asyncpg.Connection, login: str, code: str, *, now: datetime
) -> str | Failure:
    """The verified mobile number, or why not; a code works once and for 5 tries at most."""
    async with conn.transaction():
        row = await conn.fetchrow(Q["wap_code_get"], mac(app, "sms_login", login))
        if (
            row is None
            or row["used_at"] is not None
            or row["expires_at"] <= now
            or row["failures"] >= CODE_TRIES
        ):
            return "expired"
        if not hmac.compare_digest(_code_mac(app, login, code), row["code_mac"]):
            await conn.execute(Q["wap_code_failed"], row["id"])
            return "expired" if row["failures"] + 1 >= CODE_TRIES else "wrong"
        await conn.execute(Q["wap_code_used"], row["id"], now)
        return reveal(app[VAULT], row["mobile"], field=WAP_CODES_MOBILE)


async def masked_mobile_of(
    app: web.Application, conn: asyncpg.Connection, login: str
) -> str | None:
    """138****5678 for the code-entry page (the form holds only the handle)."""
    row = await conn.fetchrow(Q["wap_code_mobile"], mac(app, "sms_login", login))
    if row is None:
        return None
    return mask_mobile(reveal(app[VAULT], row["mobile"], field=WAP_CODES_MOBILE))


async def open_session(
    app: web.Application, conn: asyncpg.Connection, mobile: str, *, now: datetime
) -> str:
    sealed = app[VAULT].seal(mobile, field=WAP_SESSIONS_MOBILE)
    return await SESSIONS.open(app, conn, sealed, now=now)


async def session_mobile(
    app: web.Application, conn: asyncpg.Connection, sid: str, *, now: datetime
) -> str | None:
    stored = await SESSIONS.holder(app, conn, sid, now=now)
    return None if stored is None else reveal(app[VAULT], stored, field=WAP_SESSIONS_MOBILE)
