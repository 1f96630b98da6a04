"""The named SQL blocks of ``hub/store/sql/*.sql``."""

from __future__ import annotations

import importlib.resources
import re
from typing import LiteralString, cast

_BLOCK = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)


def _load() -> dict[str, LiteralString]:
    """Every ``-- name:`` block of every ``hub/store/sql/*.sql`` file; a name may be used once."""
    found: dict[str, LiteralString] = {}
    folder = importlib.resources.files("hub.store").joinpath("sql")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        parts = _BLOCK.split(entry.read_text("utf-8"))[1:]
        for name, body in zip(parts[::2], parts[1::2], strict=True):
            if name in found:
                raise RuntimeError(f"hub/store/sql/{entry.name}: query {name!r} is defined twice")
            # The files are ours and shipped with the package: as literal as a constant.
            found[name] = cast(LiteralString, body.strip())
    return found


Q: dict[str, LiteralString] = _load()
