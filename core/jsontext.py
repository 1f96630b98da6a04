"""JSON text from outside, parsed with bounds: nesting depth, and strings PostgreSQL can store.

``json.loads`` recurses once per level, so ``[`` fifty thousand times raises
RecursionError deep inside the parser — and a body that stays under the
interpreter's limit can still break whatever walks it next (``json.dumps`` on the
way into ``jsonb``, PostgreSQL's own stack-depth check). No event or provider push
nests more than a handful of levels, so anything deeper than :data:`MAX_DEPTH` is
refused with :class:`TooDeep`.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import InputError

__all__ = [
    "MAX_DEPTH",
    "NotJson",
    "TooDeep",
    "Unstorable",
    "check_value",
    "parse_json",
    "storable",
]

MAX_DEPTH = 32


class NotJson(InputError):
    """The body is not valid JSON."""


class TooDeep(InputError):
    """The body is nested too deeply."""


class Unstorable(InputError):
    """The body holds a NUL character or invalid Unicode in a string."""

    def __init__(self, field: str = "body") -> None:
        super().__init__(f"{field}: holds a NUL character or invalid Unicode")
        self.field = field


def storable(text: str) -> bool:
    """PostgreSQL text holds neither NUL nor lone surrogates: refuse such input, never crash."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed value; :class:`NotJson`, :class:`TooDeep` or :class:`Unstorable` otherwise."""
    try:
        value = json.loads(raw)
    except RecursionError:
        # CPython's parser stops itself at the interpreter's recursion limit (~1000 levels).
        raise TooDeep(f"the body is nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise NotJson(f"the body is not valid JSON: {exc}") from None
    check_value(value, max_depth=max_depth)
    return value


def check_value(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Walk a parsed value without recursion: bounded depth, storable strings.

    :class:`Unstorable` names where the bad string is (``0.phone_number``).
    """
    if isinstance(value, str):
        _check_text(value, "", "body")
        return
    stack: list[tuple[dict[Any, Any] | list[Any], int, str]] = []
    if isinstance(value, dict | list):
        stack.append((value, 1, ""))
    while stack:
        container, depth, path = stack.pop()
        if depth > max_depth:
            raise TooDeep(f"the body is nested more than {max_depth} levels deep")
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, child in pairs:
            if isinstance(key, str):
                _check_text(key, path, "(a key)")
            if isinstance(child, str):
                _check_text(child, path, key)
            elif isinstance(child, dict | list):
                stack.append((child, depth + 1, f"{path}{key}."))


def _check_text(text: str, path: str, key: object) -> None:
    if not storable(text):
        raise Unstorable(f"{path}{key}")
