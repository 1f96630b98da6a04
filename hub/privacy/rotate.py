"""``cuiban keys rotate``: every sealed value and blind index re-made under the current key.

The operator makes a new key current (``privacy.data_key``) and keeps the old one
in ``privacy.previous_keys``; once every hub process runs with that config, the
rotation walks :data:`hub.privacy.fields.SEALED_COLUMNS` column by column, in
primary-key order, a batch per transaction:

* a value sealed under another key is opened and sealed again under the current
  one; a value from before its column was sealed (clear) is sealed;
* the column's blind index, if any, is recomputed from the clear value;
* each row is written only if it still holds what was read (``… AND col = old``),
  so a value the hub rewrote meanwhile is left as the hub wrote it.

The batch and the position reached commit together (``key_rotation_progress``): a
rotation killed at any point resumes where its last batch ended. While it runs,
lookups by number match the index under every configured key
(:func:`hub.privacy.fields.mobile_lookup`), so rows before and after their turn
are both found. At the end each column is checked for values still sealed under
another key (a process not yet restarted may have written some) and walked again
if any; only then is the rotation marked finished and the old key safe to drop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import structlog

from core.errors import ConfigError, CuibanError
from core.events import mobile_digits
from hub.privacy.fields import SEALED_COLUMNS, SealedColumn, address_key, open_as
from hub.privacy.vault import SealedValueError, Vault
from hub.store.queries import Q

log = structlog.get_logger(__name__)

BATCH = 500
MAX_PASSES = 3  # a column found with old values after its walk is walked again, this often

#: How an index column's text is made from the clear value of the sealed column it sits
#: beside (keyed by that column, ``table.column``): the other columns of the row it needs,
#: and the rule (None: no index for this value). A column named ``mobile_index`` holds the
#: digits of the mobile that is the column's value; any other index needs a rule here, or
#: rotation refuses to start.
IndexRule = tuple[tuple[str, ...], Callable[[str, Mapping[str, Any]], str | None]]


def _applicant_mobile(clear: str, _row: Mapping[str, Any]) -> str | None:
    applicant = orjson.loads(clear)
    mobile = applicant.get("mobile") if isinstance(applicant, dict) else None
    return mobile_digits(mobile) if isinstance(mobile, str) and mobile else None


def _address(clear: str, row: Mapping[str, Any]) -> str:
    return address_key(row["channel"], clear)


def _message_recipient(clear: str, row: Mapping[str, Any]) -> str | None:
    recipient = orjson.loads(clear).get("recipient")
    return address_key(row["channel"], recipient) if isinstance(recipient, str) else None


INDEX_RULES: dict[str, IndexRule] = {
    "cases.applicant": ((), _applicant_mobile),
    "messages.sealed": (("channel",), _message_recipient),
    "messages.recipient": (("channel",), _address),
    "subscribers.address": (("channel",), _address),
}

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class RotationRunning(CuibanError):
    """Another rotation holds the lock on this database."""


def index_rule(column: SealedColumn) -> IndexRule | None:
    """The rule for ``column``'s index; ConfigError if it has an index no rule covers."""
    if column.index is None:
        return None
    found = INDEX_RULES.get(f"{column.table}.{column.column}")
    if found is not None:
        return found
    if column.index == "mobile_index":
        return ((), lambda clear, _row: mobile_digits(clear))
    raise ConfigError(
        f"{column.table}.{column.index}: no rule says how this blind index is made "
        "(hub/privacy/rotate.py INDEX_RULES); nothing was rotated"
    )


def _ident(name: str) -> str:
    """A table or column name of the registry, checked before it goes into SQL."""
    if not _NAME.match(name):
        raise ValueError(f"not a plain SQL name: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True, kw_only=True)
class Progress:
    """One batch done, as printed: where, how far, how many values re-sealed."""

    table: str
    column: str
    scanned: int
    total: int
    resealed: int
    finished: bool = False

    def line(self) -> str:
        state = "done" if self.finished else f"{self.scanned}/{self.total} rows"
        return f"{self.table}.{self.column}: {state}, {self.resealed} values re-sealed"


Report = Callable[[Progress], None]


class _Column:
    """The SQL and the value rules of one sealed column."""

    def __init__(self, column: SealedColumn, types: Mapping[str, str]) -> None:
        self.spec = column
        self.rule = index_rule(column)
        self.jsonb = types[column.column] == "jsonb"
        self.indexed = column.index is not None and self.rule is not None
        self._build_sql(column, types, self.rule[0] if self.rule else ())

    def _build_sql(
        self, column: SealedColumn, types: Mapping[str, str], extras: tuple[str, ...]
    ) -> None:
        # Names come only from SEALED_COLUMNS and the catalogue, each checked by _ident/_type;
        # every value is a parameter.
        keys = column.row_key
        t, c = _ident(column.table), _ident(column.column)
        key_list = ", ".join(_ident(k) for k in keys)
        n = len(keys)
        select = (
            f"SELECT ARRAY[{', '.join(f'{_ident(k)}::text' for k in keys)}] AS row_key,"  # noqa: S608
            f" {c}::text AS stored{''.join(f', {_ident(e)}' for e in extras)} FROM {t}"
        )
        after = ", ".join(f"${i + 1}::text::{_type(types[k])}" for i, k in enumerate(keys))
        self.first = f"{select} ORDER BY {key_list} LIMIT $1"
        self.next = f"{select} WHERE ({key_list}) > ({after}) ORDER BY {key_list} LIMIT ${n + 1}"
        # $1 the new value, $2 the value read (unchanged since?), then the row key, then
        # the new index where the column has one.
        match = " AND ".join(
            f"{_ident(k)} = ${i + 3}::text::{_type(types[k])}" for i, k in enumerate(keys)
        )
        value_type = "jsonb" if self.jsonb else "text"
        set_index = f", {_ident(column.index or '')} = ${n + 3}::bytea" if self.indexed else ""
        self.update = (
            f"UPDATE {t} SET {c} = $1::text::{value_type}{set_index}"  # noqa: S608 - see above
            f" WHERE {match} AND {c}::text = $2"
        )
        self.count = f"SELECT count(*) FROM {t}"  # noqa: S608 - see above
        # A value still under another key, wherever it sits in the column's text.
        self.stale = (
            f"SELECT count(*) FROM {t}"  # noqa: S608 - see above
            f" WHERE {c}::text ~ ('sm4:(?!' || $1 || ':)[0-9a-f]+:')"
        )

    def rewrite(
        self, vault: Vault, stored: str, row: Mapping[str, Any]
    ) -> tuple[str, bytes | None] | None:
        """The text to store and the new index; None when the value is current already."""
        field = self.spec.field
        if not self.jsonb:
            return self._one(vault, stored, field, row)
        value = orjson.loads(stored)
        if not self.spec.paths:
            if isinstance(value, str):
                done = self._one(vault, value, field, row)
            elif value:  # from before sealing: the JSON text is what gets sealed
                done = self._one(vault, orjson.dumps(value).decode(), field, row, clear=True)
            else:  # [] {} null: nothing personal, stays plain
                return None
            return None if done is None else (orjson.dumps(done[0]).decode(), done[1])
        index, changed = None, False
        for path in self.spec.paths:
            inner = _get(value, path)
            if isinstance(inner, str) and Vault.is_sealed(inner):
                done = self._one(vault, inner, field, row)
            elif isinstance(inner, Mapping | list) and inner:
                done = self._one(vault, orjson.dumps(inner).decode(), field, row, clear=True)
            else:
                continue
            if done is not None:
                value = _set(value, path, done[0])
                index = done[1] if done[1] is not None else index
                changed = True
        return (orjson.dumps(value).decode(), index) if changed else None

    def _one(
        self,
        vault: Vault,
        stored: str,
        field: str,
        row: Mapping[str, Any],
        *,
        clear: bool = False,
    ) -> tuple[str, bytes | None] | None:
        if clear or not Vault.is_sealed(stored):
            plain = stored
        elif vault.needs_rotation(stored):
            # A value from before the column's field changed opens as the older field.
            plain = open_as(vault, stored, self.spec.fields)
        else:
            return None
        return vault.seal(plain, field=field), self._index(vault, plain, row)

    def _index(self, vault: Vault, plain: str, row: Mapping[str, Any]) -> bytes | None:
        text = None if self.rule is None else self.rule[1](plain, row)
        return None if text is None else vault.blind_index(text)


def _type(name: str) -> str:
    """A key column's type from the catalogue ("bigint", "text"), checked like a name."""
    if not re.match(r"^[a-z ]+(\(\d+\))?$", name):
        raise ValueError(f"unexpected key column type {name!r}")
    return name


def _get(value: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _set(value: Any, path: str, new: Any) -> Any:
    head, _, rest = path.partition(".")
    copy = dict(value)
    copy[head] = _set(copy[head], rest, new) if rest else new
    return copy


async def _column_types(conn: asyncpg.Connection, column: SealedColumn) -> dict[str, str]:
    rows = await conn.fetch(
        Q["rotation_column_types"],
        column.table,
        [column.column, *column.row_key],
    )
    types = {r["name"]: r["type"] for r in rows}
    missing = {column.column, *column.row_key} - types.keys()
    if missing:
        raise ConfigError(f"{column.table}: no column {', '.join(sorted(missing))}")
    return types


@dataclass(kw_only=True)
class RotationResult:
    """What a rotation did: values re-sealed, and values it could not open (left as they were)."""

    key_id: str
    resealed: int = 0
    unopened: int = 0  # sealed under a key not configured, or damaged
    stale: int = 0  # still under another key at the end: the rotation is not finished

    @property
    def finished(self) -> bool:
        return self.stale == 0 and self.unopened == 0


async def rotate_keys(
    pool: asyncpg.Pool,
    vault: Vault,
    *,
    now: Callable[[], datetime],
    batch: int = BATCH,
    pause: float = 0.0,
    report: Report = lambda _: None,
    columns: tuple[SealedColumn, ...] = SEALED_COLUMNS,
) -> RotationResult:
    """Re-seal every registered column under ``vault.current``.

    Resumes the unfinished rotation to the same key where its last batch ended; a
    rotation to another key left unfinished is superseded (this one walks everything).
    """
    result = RotationResult(key_id=vault.current.key_id)
    async with pool.acquire() as lock:
        # One rotation at a time; the lock goes with the session if the process dies.
        if not await lock.fetchval(Q["rotation_lock"]):
            raise RotationRunning("another `cuiban keys rotate` is running on this database")
        try:
            plans = [_Column(c, await _column_types(lock, c)) for c in columns]
            async with lock.transaction():
                await lock.execute(Q["rotation_supersede"], result.key_id, now())
                rotation = await lock.fetchval(Q["rotation_open"], result.key_id, now())
            sizes = {id(plan): await lock.fetchval(plan.count) for plan in plans}
            # Smallest tables first: the ones lookups compare inside SQL (opt-outs, lists)
            # are small, and are on the new index within moments of the start.
            for plan in sorted(plans, key=lambda p: sizes[id(p)]):
                walker = _Walk(pool, vault, plan, rotation, batch=batch, pause=pause)
                walker.total = sizes[id(plan)]
                await walker.run(report, result)
            if result.finished:
                await lock.execute(Q["rotation_finished"], rotation, now())
        finally:
            await lock.execute(Q["rotation_unlock"])
    log.info(
        "key_rotation_ended",
        key_id=result.key_id,
        resealed=result.resealed,
        unopened=result.unopened,
        stale=result.stale,
        finished=result.finished,
    )
    return result


class _Walk:
    """One column's rotation: batches in key order from where the last run stopped."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        vault: Vault,
        plan: _Column,
        rotation: int,
        *,
        batch: int,
        pause: float,
    ) -> None:
        self.pool, self.vault, self.plan, self.rotation = pool, vault, plan, rotation
        self.batch, self.pause = batch, pause
        self.position: list[str] | None = None
        self.resealed = 0
        self.scanned = 0
        self.total = 0

    def _progress(self, *, finished: bool = False) -> Progress:
        spec = self.plan.spec
        return Progress(
            table=spec.table,
            column=spec.column,
            scanned=self.scanned,
            total=self.total,
            resealed=self.resealed,
            finished=finished,
        )

    async def run(self, report: Report, result: RotationResult) -> None:
        spec = self.plan.spec
        async with self.pool.acquire() as conn:
            state = await conn.fetchrow(
                Q["rotation_progress"], self.rotation, spec.table, spec.column
            )
        if state is not None:
            self.position, self.resealed = state["last_key"], state["resealed"]
            if state["done"]:
                self.scanned = self.total
                report(self._progress(finished=True))
                return
        before = self.resealed
        for _ in range(MAX_PASSES):
            unopened = await self._pass(report)
            async with self.pool.acquire() as conn:
                stale = await conn.fetchval(self.plan.stale, self.vault.current.key_id)
            if stale <= unopened:  # nothing left that another walk could re-seal
                break
            # Written meanwhile under an old key (a process not restarted yet): walk again.
            log.warning(
                "key_rotation_stale_values", table=spec.table, column=spec.column, count=stale
            )
            self.position, self.scanned = None, 0
        result.resealed += self.resealed - before
        result.unopened += unopened
        result.stale += stale
        await self._save(done=stale == 0 and unopened == 0)
        report(self._progress(finished=True))

    async def _pass(self, report: Report) -> int:
        """Walk from the saved position to the end; the values that would not open."""
        unopened = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                plan = self.plan
                if self.position is None:
                    rows = await conn.fetch(plan.first, self.batch)
                else:
                    rows = await conn.fetch(plan.next, *self.position, self.batch)
                changes, skipped = self._changes(rows)
                if changes:
                    await conn.executemany(plan.update, changes)
                unopened += skipped
                if rows:
                    self.position = list(rows[-1]["row_key"])
                self.resealed += len(changes)
                self.scanned += len(rows)
                await self._save(done=False, conn=conn)
            report(self._progress())
            if len(rows) < self.batch:
                return unopened
            if self.pause:
                await asyncio.sleep(self.pause)

    def _changes(self, rows: list[asyncpg.Record]) -> tuple[list[tuple[Any, ...]], int]:
        changes: list[tuple[Any, ...]] = []
        skipped = 0
        for row in rows:
            stored = row["stored"]
            if stored is None:
                continue
            try:
                done = self.plan.rewrite(self.vault, stored, row)
            except (SealedValueError, orjson.JSONDecodeError) as exc:
                # One value no configured key opens must not stop the others.
                skipped += 1
                spec = self.plan.spec
                log.warning(
                    "key_rotation_unopened",
                    table=spec.table,
                    column=spec.column,
                    row_key=list(row["row_key"]),
                    error=str(exc),
                )
                continue
            if done is not None:
                text, index = done
                key = row["row_key"]
                changes.append(
                    (text, stored, *key, index) if self.plan.indexed else (text, stored, *key)
                )
        return changes, skipped

    async def _save(self, *, done: bool, conn: asyncpg.Connection | None = None) -> None:
        spec = self.plan.spec
        args = (self.rotation, spec.table, spec.column, self.position, self.resealed, done)
        if conn is not None:
            await conn.execute(Q["rotation_save"], *args)
            return
        async with self.pool.acquire() as own:
            await own.execute(Q["rotation_save"], *args)
