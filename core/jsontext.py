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
import re
from typing import Any

import orjson

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
    """The parsed value; :class:`NotJson`, :class:`TooDeep` or :class:`Unstorable` otherwise.

    An ordinary body is parsed by orjson and checked on its bytes (:func:`_fast`); any
    body that path cannot vouch for takes the standard parser and a walk of every string,
    which decides the exact answer. Both give the same value for a body both accept.
    """
    if isinstance(raw, str):
        try:
            raw = raw.encode()
        except UnicodeEncodeError:  # a lone surrogate in the text: the walk names where
            return _parse_and_walk(raw, max_depth)
    value = _fast(raw, max_depth)
    if value is _UNSURE:
        return _parse_and_walk(raw, max_depth)
    return value


_UNSURE = object()
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
#: An integer of 19 digits may leave orjson's 64 bits (it would come back as a float).
_LONG_NUMBER = b"0" * 19
_STRING = re.compile(rb'"[^"]*"')
_LEAF = re.compile(rb"\[\]|\{\}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def _fast(raw: bytes, max_depth: int) -> Any:
    """orjson's parse of an ordinary body, or ``_UNSURE`` when the walk must decide.

    Unsure: orjson refuses the body (lone surrogates, invalid UTF-8, a BOM, NaN,
    1e400 — the standard parser reads some of these), an escaped NUL is in it, or
    a long digit run might be an integer orjson would turn into a float.
    """
    if b"\\u0000" in raw or _LONG_NUMBER in raw.translate(_DIGITS_AS_ZERO):
        return _UNSURE
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _UNSURE
    if _depth_exceeds(raw, max_depth):
        raise TooDeep(f"the body is nested more than {max_depth} levels deep")
    return value


def _depth_exceeds(raw: bytes, max_depth: int) -> bool:
    """Whether valid JSON ``raw`` nests deeper than ``max_depth``, read from its brackets.

    Escapes go first (``\\\\``, then ``\\"``), then everything but quotes and
    brackets, then whole strings; each pass of :data:`_LEAF` then removes one level.
    """
    skeleton = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    # Most strings hold no bracket and are now "" — gone in one C-speed pass. Removing a
    # "" that closes one string and opens the next merges the two, which is as good.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRING.sub(b"", skeleton)
    for _ in range(max_depth):
        if not skeleton:
            return False
        skeleton = _LEAF.sub(b"", skeleton)
    return bool(skeleton)


def _parse_and_walk(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
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
