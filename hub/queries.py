"""The named SQL blocks of ``hub/sql/queries.sql``."""

from __future__ import annotations

import importlib.resources
import re
from typing import LiteralString, cast

_BLOCK = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)


def _load() -> dict[str, LiteralString]:
    text = importlib.resources.files("hub").joinpath("sql", "queries.sql").read_text("utf-8")
    parts = _BLOCK.split(text)[1:]
    # The file is ours and shipped with the package: its text is as literal as a constant.
    return {
        name: cast(LiteralString, body.strip())
        for name, body in zip(parts[::2], parts[1::2], strict=True)
    }


Q: dict[str, LiteralString] = _load()
