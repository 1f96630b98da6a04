"""Reading and writing a personal column whether or not it is sealed yet.

Columns are sealed one table at a time (:data:`hub.privacy.fields.SEALED_COLUMNS`),
and rows stored before a column was sealed stay in clear until rotation reaches
them. What rewrites personal data wholesale — retention, erasure — reads every
value through :class:`StoredForm` and writes it back the way the column's own
readers expect: sealed where the column is registered, in clear where it is not.

The forms a value takes:

* a ``text`` column: the clear text, or ``sm4:<key id>:…``;
* a ``jsonb`` column: the clear JSON value, or a JSON string holding the sealed
  JSON text of the value (``messages.fallbacks``, ``cases.applicant``);
* a key inside a ``jsonb`` column (``events.payload`` → ``applicant``): the same,
  one level down (:attr:`SealedColumn.paths`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from hub.privacy.fields import SEALED_COLUMNS, SealedColumn, open_as
from hub.privacy.vault import Vault


class StoredForm:
    """Opens and seals the values of every registered column, by table and column name."""

    def __init__(self, vault: Vault, columns: tuple[SealedColumn, ...] = SEALED_COLUMNS) -> None:
        self.vault = vault
        self._columns = {(c.table, c.column): c for c in columns}

    def sealed(self, table: str, column: str) -> SealedColumn | None:
        return self._columns.get((table, column))

    # --- text columns --------------------------------------------------------------------------

    def read_text(self, table: str, column: str, stored: str | None) -> str | None:
        found = self.sealed(table, column)
        if stored is None or found is None or not Vault.is_sealed(stored):
            return stored
        return open_as(self.vault, stored, found.fields)

    def write_text(self, table: str, column: str, clear: str | None) -> str | None:
        found = self.sealed(table, column)
        if clear is None or found is None:
            return clear
        return self.vault.seal(clear, field=found.field)

    # --- jsonb columns (and keys inside them) --------------------------------------------------

    def read_json(self, table: str, column: str, stored: Any, *, path: str | None = None) -> Any:
        """The clear JSON value; ``path`` names a top-level key of a column sealed by keys."""
        found = self.sealed(table, column)
        if found is None or not isinstance(stored, str) or not Vault.is_sealed(stored):
            return stored
        if path is not None and path not in found.paths:
            return stored
        return orjson.loads(open_as(self.vault, stored, found.fields))

    def write_json(self, table: str, column: str, clear: Any, *, path: str | None = None) -> Any:
        """What to store for ``clear``: sealed JSON text if the column (or key) is sealed.

        Empty values stay plain (``[]``, ``{}``, null): they say nothing about anyone,
        and the readers of every sealed jsonb column take them as they are.
        """
        found = self.sealed(table, column)
        if found is None or not clear or (path is not None and path not in found.paths):
            return clear
        if path is None and found.paths:
            return clear  # a column sealed by keys: its keys are written one by one
        return self.vault.seal(orjson.dumps(clear).decode(), field=found.field)

    def read_keys(self, table: str, column: str, stored: Any) -> Any:
        """A ``jsonb`` object with each sealed key (``paths`` of one level) opened."""
        found = self.sealed(table, column)
        if found is None or not isinstance(stored, Mapping):
            return stored
        opened = dict(stored)
        for path in found.paths:
            if "." not in path and path in opened:
                opened[path] = self.read_json(table, column, opened[path], path=path)
        return opened

    def write_keys(self, table: str, column: str, clear: Any) -> Any:
        found = self.sealed(table, column)
        if found is None or not isinstance(clear, Mapping):
            return clear
        stored = dict(clear)
        for path in found.paths:
            if "." not in path and stored.get(path):
                stored[path] = self.write_json(table, column, stored[path], path=path)
        return stored
